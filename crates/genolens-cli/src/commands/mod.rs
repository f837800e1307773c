//! One module per subcommand.

pub mod convert;
pub mod freq;
pub mod info;
