"""The notify service's MongoDB access: one module per collection family."""
