//! warren-topic (work in progress).
