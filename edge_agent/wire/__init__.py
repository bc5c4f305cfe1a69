"""What travels between edge agent and controller: message codec and the site config schema."""
