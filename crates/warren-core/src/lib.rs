//! warren-core (work in progress).
