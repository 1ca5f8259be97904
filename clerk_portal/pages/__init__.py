"""One module per page: its small state class (which calls services and read models, never the
database) next to its UI."""
