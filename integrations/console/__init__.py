"""A terminal chat: the third adapter, used by `make demo` and by most end-to-end tests."""
