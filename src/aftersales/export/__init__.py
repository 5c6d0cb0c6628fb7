"""Documents rendered for people outside the platform."""
