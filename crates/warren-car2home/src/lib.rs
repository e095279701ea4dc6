//! warren-car2home (work in progress).
