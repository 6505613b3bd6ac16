//! Formats 2.1 and 2.2: structure as repetition/definition levels, and the page layouts
//! (mini-block, full-zip, constant) that store levels and compressed values.

pub mod constant;
pub mod fullzip;
pub mod miniblock;
pub mod page;
pub mod repdef;
