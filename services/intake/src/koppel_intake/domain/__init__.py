"""Pure intake rules: who may call, and how a trace continues. Standard library only."""
