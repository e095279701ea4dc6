//! warren-mqtt (work in progress).
