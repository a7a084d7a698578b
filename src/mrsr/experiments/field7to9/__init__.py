"""Ravikumar et al.: 7T -> 9.4T synthesis (field7to9)."""
