"""Every line of code the site shows: reference implementations and one module per page."""
