//! The shared store test suite: every backend runs these. Placeholder: written next.
