"""Reader feedback from the email, the learned ranking it trains, the private feed and quiet-day notes."""
