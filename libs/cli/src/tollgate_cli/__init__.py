"""`tollgate`, the operator CLI: grants, tokens, usage, provider credentials and the stack's health, over HTTP."""
