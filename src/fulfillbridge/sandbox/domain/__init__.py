"""Domain parts of the sandbox: plain Python state and rules, no GraphQL."""
