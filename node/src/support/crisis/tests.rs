use super::*;
use proptest::prelude::*;

fn contacts(country: Option<&str>) -> Vec<String> {
    defaults_for(country)
        .into_iter()
        .map(|line| line.contact)
        .collect()
}

fn locale(vars: &[Option<&str>]) -> Option<String> {
    let vars: Vec<_> = vars.iter().map(|v| v.map(str::to_string)).collect();
    country_from_locale(&vars)
}

fn error(result: Result<CrisisLine>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn each_country_gets_its_helplines_then_emergency_services_then_the_directory() {
    let fallback = "https://findahelpline.com";
    let cases: [(&str, &[&str]); 10] = [
        (
            "US",
            &["call or text 988", "1-800-662-4357", "911", fallback],
        ),
        ("CA", &["call or text 988", "911", fallback]),
        ("GB", &["116 123", "0300 123 6600", "999", fallback]),
        ("IE", &["116 123", "112 or 999", fallback]),
        ("AU", &["13 11 14", "000", fallback]),
        ("NZ", &["call or text 1737", "111", fallback]),
        ("DE", &["0800 111 0 111 or 0800 111 0 222", "112", fallback]),
        ("FR", &["3114", "112", fallback]),
        ("NL", &["113 or 0800-0113", "112", fallback]),
        ("ES", &["024", "112", fallback]),
    ];
    for (country, expected) in cases {
        assert_eq!(contacts(Some(country)), expected, "{country}");
    }
}

#[test]
fn the_us_list_names_the_lifeline_and_the_substance_use_helpline() {
    let lines = defaults_for(Some("US"));
    assert_eq!(
        lines[0],
        CrisisLine {
            name: "988 Suicide & Crisis Lifeline".to_string(),
            contact: "call or text 988".to_string(),
            hours: Some("24/7".to_string()),
        }
    );
    assert_eq!(lines[1].name, "SAMHSA National Helpline (substance use)");
    assert_eq!(lines[2].name, "Emergency services");
    assert_eq!(lines[3].name, "Find a helpline");
}

#[test]
fn countries_are_read_in_any_case_and_uk_means_gb() {
    assert_eq!(defaults_for(Some("us")), defaults_for(Some("US")));
    assert_eq!(defaults_for(Some(" gB ")), defaults_for(Some("GB")));
    assert_eq!(defaults_for(Some("UK")), defaults_for(Some("GB")));
}

#[test]
fn other_european_countries_get_112_and_the_directory() {
    for country in ["IT", "pl", "SE", "NO", "CH", "GR"] {
        assert_eq!(
            contacts(Some(country)),
            ["112", "https://findahelpline.com"],
            "{country}"
        );
    }
}

#[test]
fn an_unknown_country_still_gets_emergency_services_and_the_directory() {
    let expected = [
        CrisisLine {
            name: "Emergency services".to_string(),
            contact: "your local emergency number".to_string(),
            hours: None,
        },
        CrisisLine {
            name: "Find a helpline".to_string(),
            contact: "https://findahelpline.com".to_string(),
            hours: None,
        },
    ];
    for country in [
        None,
        Some(""),
        Some("ZZ"),
        Some("USA"),
        Some("U"),
        Some("1!"),
        Some("日本"),
    ] {
        assert_eq!(defaults_for(country), expected, "{country:?}");
    }
}

#[test]
fn every_list_ends_with_the_directory() {
    for country in [
        "US", "CA", "GB", "IE", "AU", "NZ", "DE", "FR", "NL", "ES", "JP", "BR",
    ] {
        let lines = defaults_for(Some(country));
        assert_eq!(lines.last().unwrap().contact, "https://findahelpline.com");
        assert!(lines.iter().any(|line| line.name == "Emergency services"));
        assert!(lines.iter().all(|line| {
            parse_line(&format!("{}: {}", line.name, line.contact))
                .is_ok_and(|parsed| parsed.name == line.name && parsed.contact == line.contact)
        }));
    }
}

#[test]
fn the_country_comes_from_the_first_locale_that_is_set() {
    assert_eq!(
        locale(&[None, None, Some("en_US.UTF-8")]),
        Some("US".to_string())
    );
    assert_eq!(
        locale(&[Some("de_DE"), None, Some("en_US.UTF-8")]),
        Some("DE".to_string())
    );
    assert_eq!(
        locale(&[None, Some("en_GB.utf8"), Some("de_DE")]),
        Some("GB".to_string())
    );
    assert_eq!(
        locale(&[Some(""), None, Some("fr_FR@euro")]),
        Some("FR".to_string())
    );
    assert_eq!(locale(&[Some("sr_RS@latin")]), Some("RS".to_string()));
    assert_eq!(locale(&[Some("en_nz")]), Some("NZ".to_string()));
}

#[test]
fn locales_without_a_country_give_none() {
    for value in [
        "C",
        "POSIX",
        "",
        "C.UTF-8",
        "en",
        "en.UTF-8",
        "es_419.UTF-8",
        "en_",
        "_US_",
    ] {
        assert_eq!(locale(&[Some(value)]), None, "{value:?}");
    }
    // LC_ALL=C decides even when LANG names a country, as it does for every program.
    assert_eq!(locale(&[Some("C"), None, Some("en_US.UTF-8")]), None);
    assert_eq!(locale(&[None, None, None]), None);
    assert_eq!(locale(&[]), None);
}

#[test]
fn a_configured_line_is_a_name_a_colon_and_a_contact() {
    assert_eq!(
        parse_line("My sponsor: +44 7700 900123").unwrap(),
        CrisisLine {
            name: "My sponsor".to_string(),
            contact: "+44 7700 900123".to_string(),
            hours: None,
        }
    );
    let link = parse_line("  Crisis Text Line:https://www.crisistextline.org  ").unwrap();
    assert_eq!(link.name, "Crisis Text Line");
    assert_eq!(link.contact, "https://www.crisistextline.org");
    let times = parse_line("Evening group: call 555 0100 at 19:30").unwrap();
    assert_eq!(times.contact, "call 555 0100 at 19:30");
}

#[test]
fn a_line_that_cannot_be_read_says_how_to_write_it() {
    assert_eq!(
        error(parse_line("call mum")),
        "'call mum' is not a crisis line: write a name, a colon, then how to reach them, \
         e.g. My sponsor: +44 7700 900123"
    );
    for text in [
        "",
        ":",
        "My sponsor:",
        ": 555 0100",
        "  :  ",
        "https://findahelpline.com",
    ] {
        assert!(
            error(parse_line(text)).contains("is not a crisis line"),
            "{text:?}"
        );
    }
    for text in [
        "My sponsor: 555\n0100",
        "My\x1b[31m sponsor: 555 0100",
        "A\tB: 1",
    ] {
        assert!(error(parse_line(text)).starts_with("a crisis line must fit on one line"));
    }
}

#[test]
fn names_and_contacts_have_length_limits() {
    let name = "n".repeat(MAX_NAME_CHARS);
    let contact = "7".repeat(MAX_CONTACT_CHARS);
    assert!(parse_line(&format!("{name}: {contact}")).is_ok());
    // Limits count characters, not bytes.
    assert!(parse_line(&format!("{}: {}", "é".repeat(80), "☎".repeat(120))).is_ok());
    assert_eq!(
        error(parse_line(&format!("{name}n: 1"))),
        format!(
            "the name '{}…' is too long: keep it to 80 characters",
            "n".repeat(40)
        )
    );
    assert!(
        error(parse_line(&format!("x: {contact}7")))
            .ends_with("is too long: keep it to 120 characters")
    );
}

#[test]
fn a_country_without_lines_here_is_refused_with_the_known_ones_listed() {
    assert_eq!(check_country(" us ").unwrap(), "US");
    assert_eq!(check_country("uk").unwrap(), "GB");
    for known in known_countries() {
        assert!(defaults_for(Some(known)).iter().any(|l| l.hours.is_some()));
    }
    let refused = error(check_country("ZZ").map(|_| line("", "", None)));
    assert!(
        refused.starts_with("'ZZ' is not a country code"),
        "{refused}"
    );
    assert!(
        refused.contains("AT, AU, BE,") && refused.contains("US"),
        "{refused}"
    );
    assert!(check_country("England").is_err());
}

#[test]
fn a_line_is_plain_json() {
    let line = parse_line("My sponsor: +44 7700 900123").unwrap();
    let json = serde_json::to_string(&line).unwrap();
    assert_eq!(
        json,
        r#"{"name":"My sponsor","contact":"+44 7700 900123","hours":null}"#
    );
    assert_eq!(serde_json::from_str::<CrisisLine>(&json).unwrap(), line);
}

proptest! {
    #[test]
    fn nothing_panics_on_any_text(text in ".{0,200}", country in ".{0,4}") {
        if let Ok(line) = parse_line(&text) {
            prop_assert!(!line.name.is_empty() && !line.contact.is_empty());
            prop_assert!(line.name.chars().count() <= MAX_NAME_CHARS);
            prop_assert!(line.contact.chars().count() <= MAX_CONTACT_CHARS);
        }
        prop_assert!(defaults_for(Some(&country)).len() >= 2);
        let _ = country_from_locale(&[Some(text.clone()), None]);
    }
}
