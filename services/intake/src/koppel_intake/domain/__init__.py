"""Pure intake rules: the shape incoming JSON may have. Standard library only."""
