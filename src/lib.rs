//! circle
