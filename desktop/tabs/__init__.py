"""One file per demo tab."""
