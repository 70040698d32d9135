//! Crisis lines to show when someone reaches out.
//!
//! `reach-out` always shows crisis lines next to the call to the circle: the person's own
//! (a sponsor, a local service), if they added some, then the defaults here for their
//! country. Only lines we are sure are real and
//! current are listed; every list names the local emergency number and ends with
//! findahelpline.com, which covers most countries.

use serde::{Deserialize, Serialize};

use super::clock::shown;
use crate::error::{Error, Result};

/// The longest name a configured crisis line may have, in characters.
pub const MAX_NAME_CHARS: usize = 80;

/// The longest contact (number, text code or link) a configured crisis line may have, in
/// characters.
pub const MAX_CONTACT_CHARS: usize = 120;

/// A line a person can call, text or open when things are hard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CrisisLine {
    /// Who answers, e.g. `Samaritans` or `My sponsor`.
    pub name: String,
    /// How to reach them: a number, `call or text 988`, or a link.
    pub contact: String,
    /// When they answer, e.g. `24/7`, if known.
    pub hours: Option<String>,
}

const ALWAYS: &str = "24/7";

/// Where `findahelpline.com` sends people: a directory of helplines in most countries.
const FALLBACK_NAME: &str = "Find a helpline";
const FALLBACK_CONTACT: &str = "https://findahelpline.com";

/// Countries where 112 reaches emergency services: the EU, the rest of the EEA and
/// Switzerland. Ireland is listed separately because 999 works there as well.
const EUROPE_112: [&str; 30] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IT", "LV", "LT",
    "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "CH",
];

fn line(name: &str, contact: &str, hours: Option<&str>) -> CrisisLine {
    CrisisLine {
        name: name.to_string(),
        contact: contact.to_string(),
        hours: hours.map(str::to_string),
    }
}

/// The crisis lines to show by default in `country` (ISO 3166-1 alpha-2, any case; `UK` is
/// taken as `GB`).
///
/// Lists the country's well-known helplines (if we have them), then its emergency number,
/// then findahelpline.com. For an unknown or missing country: "your local emergency number"
/// and findahelpline.com.
pub fn defaults_for(country: Option<&str>) -> Vec<CrisisLine> {
    let code = country.and_then(country_code);
    let code = code.as_deref();
    let mut lines = match code {
        Some("US") => vec![
            line(
                "988 Suicide & Crisis Lifeline",
                "call or text 988",
                Some(ALWAYS),
            ),
            line(
                "SAMHSA National Helpline (substance use)",
                "1-800-662-4357",
                Some(ALWAYS),
            ),
        ],
        Some("CA") => vec![line(
            "9-8-8 Suicide Crisis Helpline",
            "call or text 988",
            Some(ALWAYS),
        )],
        Some("GB") => vec![
            line("Samaritans", "116 123", Some(ALWAYS)),
            line("FRANK (drugs)", "0300 123 6600", Some(ALWAYS)),
        ],
        Some("IE") => vec![line("Samaritans", "116 123", Some(ALWAYS))],
        Some("AU") => vec![line("Lifeline", "13 11 14", Some(ALWAYS))],
        Some("NZ") => vec![line(
            "1737, Need to talk?",
            "call or text 1737",
            Some(ALWAYS),
        )],
        Some("DE") => vec![line(
            "TelefonSeelsorge",
            "0800 111 0 111 or 0800 111 0 222",
            Some(ALWAYS),
        )],
        Some("FR") => vec![line(
            "3114, numéro national de prévention du suicide",
            "3114",
            Some(ALWAYS),
        )],
        Some("NL") => vec![line(
            "113 Zelfmoordpreventie",
            "113 or 0800-0113",
            Some(ALWAYS),
        )],
        Some("ES") => vec![line(
            "024, línea de atención a la conducta suicida",
            "024",
            Some(ALWAYS),
        )],
        _ => Vec::new(),
    };
    let emergency = match code {
        Some("US" | "CA") => Some("911"),
        Some("GB") => Some("999"),
        Some("IE") => Some("112 or 999"),
        Some("AU") => Some("000"),
        Some("NZ") => Some("111"),
        Some(code) if EUROPE_112.contains(&code) => Some("112"),
        _ => None,
    };
    lines.push(match emergency {
        Some(number) => line("Emergency services", number, Some(ALWAYS)),
        None => line("Emergency services", "your local emergency number", None),
    });
    lines.push(line(FALLBACK_NAME, FALLBACK_CONTACT, None));
    lines
}

/// Countries with lines or an emergency number of their own here, sorted: the ones
/// `--country` accepts.
pub fn known_countries() -> Vec<&'static str> {
    let mut known = vec!["US", "CA", "GB", "IE", "AU", "NZ"];
    known.extend(EUROPE_112);
    known.sort_unstable();
    known
}

/// A country a person chose for their crisis lines, as its upper-case code (`uk` gives `GB`);
/// refused, with the known ones listed, if it has no lines of its own here: saving it would
/// only show the generic ones.
pub fn check_country(country: &str) -> Result<String> {
    let code = country_code(country);
    let what = if code.is_some() {
        "a country code circle knows crisis lines for: use one of"
    } else {
        "a country code: use two letters, one of"
    };
    code.filter(|c| known_countries().contains(&c.as_str()))
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{} is not {what} {} (or set none: findahelpline.com covers every country)",
                shown(country.trim()),
                known_countries().join(", ")
            ))
        })
}

/// `country` as an upper-case two-letter code, if it looks like one.
fn country_code(country: &str) -> Option<String> {
    let code = country.trim();
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    match code.to_ascii_uppercase() {
        code if code == "UK" => Some("GB".to_string()),
        code => Some(code),
    }
}

/// The country part of the first locale that is set, e.g. `en_US.UTF-8` gives `US`.
///
/// Pass the values of `LC_ALL`, `LC_MESSAGES` and `LANG`, in that order. As in POSIX, an
/// empty value counts as unset and the first set one decides: `C`, `POSIX` and locales
/// without a country (`en`, `C.UTF-8`) give `None`.
pub fn country_from_locale(vars: &[Option<String>]) -> Option<String> {
    let locale = vars.iter().flatten().find(|value| !value.is_empty())?;
    let name = locale.split(['.', '@']).next()?;
    let (_, territory) = name.split_once('_')?;
    country_code(territory).filter(|code| code.len() == territory.len())
}

/// Reads a crisis line a person configured, written `NAME: CONTACT`, e.g.
/// `My sponsor: +44 7700 900123`.
///
/// The name ends at the first colon. Both parts are trimmed and must be non-empty and on one
/// line; the name may have up to [`MAX_NAME_CHARS`] characters and the contact up to
/// [`MAX_CONTACT_CHARS`]. Configured lines have no hours.
pub fn parse_line(text: &str) -> Result<CrisisLine> {
    let text = text.trim();
    let example = "e.g. My sponsor: +44 7700 900123";
    let not_a_line = || {
        Error::Invalid(format!(
            "{} is not a crisis line: write a name, a colon, then how to reach them, {example}",
            shown(text)
        ))
    };
    let (name, contact) = text.split_once(':').ok_or_else(not_a_line)?;
    let (name, contact) = (name.trim(), contact.trim());
    // "https://…" alone splits into "https" and "//…": a link with no name.
    if name.is_empty() || contact.is_empty() || contact.starts_with("//") {
        return Err(not_a_line());
    }
    if text.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "a crisis line must fit on one line without control characters, {example}"
        )));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::Invalid(format!(
            "the name {} is too long: keep it to {MAX_NAME_CHARS} characters",
            shown(name)
        )));
    }
    if contact.chars().count() > MAX_CONTACT_CHARS {
        return Err(Error::Invalid(format!(
            "the contact {} is too long: keep it to {MAX_CONTACT_CHARS} characters",
            shown(contact)
        )));
    }
    Ok(line(name, contact, None))
}

#[cfg(test)]
mod tests;
