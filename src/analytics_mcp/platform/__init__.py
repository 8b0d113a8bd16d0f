"""Platform analytics (seed 001, docs/platform.md): profiles, segments and their memberships
(the data side), plans, subscriptions, JWT access and activations (the ops side), read by the six
/api/analytics/ endpoints."""
