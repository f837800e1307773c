//! Set-up shared by the benchmark binaries and the small versions of them
//! that run as tests.

pub mod fusion;
