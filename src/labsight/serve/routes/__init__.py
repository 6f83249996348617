"""One router per resource of the API; each route parses, calls one core method, renders."""
