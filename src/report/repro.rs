//! placeholder
use crate::contract::Report;
use super::Tripwire;
pub struct ReproContext { pub replay_base: String }
impl ReproContext { pub fn new(b: &str) -> Self { ReproContext { replay_base: b.into() } } }
pub fn write_repro_dir(_r: &Report, _d: &std::path::Path, _c: &ReproContext, _t: &Tripwire) -> Result<usize, String> { Ok(0) }
