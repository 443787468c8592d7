//! The runtime: drives executions through the interpreter, commits, then acts. Placeholder.
