"""Users, their passwords and API tokens, sign-in for the web, and the administration commands."""
