//! `iam-contract rules`: list the rule catalogue (id, profile, source, class, title, what is
//! checked).

use crate::contract::catalogue;
use crate::model::Model;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the catalogue as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> ExitCode {
    super::common::out(&render(args.json));
    ExitCode::SUCCESS
}

/// The listing, as text or JSON.
pub fn render(json: bool) -> String {
    let rules = catalogue(Model::embedded());
    if json {
        let mut s = serde_json::to_string_pretty(&rules).unwrap_or_default();
        s.push('\n');
        return s;
    }
    let width = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
    let mut out = format!(
        "{:<width$}  {:<7} {:<9} {:<20} title\n",
        "id", "profile", "source", "class"
    );
    for r in &rules {
        out.push_str(&format!(
            "{:<width$}  {:<7} {:<9} {:<20} {}\n{:<width$}  {}\n",
            r.id,
            r.profile.as_str(),
            r.source.as_str(),
            r.class.as_str(),
            r.title,
            "",
            r.checks
        ));
    }
    out.push_str(&format!("{} rules\n", rules.len()));
    out
}
