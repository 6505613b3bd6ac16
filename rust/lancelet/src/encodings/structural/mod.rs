//! Formats 2.1 and 2.2: structure as repetition/definition levels, and the page layouts
//! (mini-block, full-zip, constant) that store levels and compressed values.

pub mod blob;
pub mod constant;
pub mod constant_encode;
pub mod dictionary;
pub mod fullzip;
pub mod fullzip_encode;
pub mod miniblock;
pub mod miniblock_encode;
pub mod page;
pub mod repdef;
