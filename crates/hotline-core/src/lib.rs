//! The transport-agnostic support desk of Hotline.
