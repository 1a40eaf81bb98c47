use super::*;

fn env(name: &str) -> Result<String, ()> {
    match name {
        "WEBSITE_WRITE_KEY" => Ok("web-key".into()),
        "SLACK_WEBHOOK_URL" => Ok("https://hooks.slack.com/services/T1/B2/C3".into()),
        _ => Err(()),
    }
}

fn parse(text: &str) -> Result<Config, String> {
    Config::parse(text, "test.toml", env).map_err(|e| e.0)
}

#[test]
fn the_example_file_parses() {
    let text = include_str!("../../../examples/switchyard.toml");
    let config = Config::parse(text, "examples/switchyard.toml", env).unwrap();
    assert_eq!(config.listen, "127.0.0.1:8088".parse().unwrap());
    assert_eq!(config.sources[0].write_key, "web-key");
    let slack = &config.destinations[0];
    assert_eq!(slack.plugin, "slack");
    assert_eq!(slack.sources, ["website", "backend"]);
    assert_eq!(slack.limits.cpu_ms, 1000);
    assert_eq!(slack.limits.memory_mib, Limits::default().memory_mib);
    let sub = &slack.subscriptions.as_ref().unwrap()[0];
    assert_eq!(sub.action, "postToChannel");
    assert_eq!(
        sub.mapping.as_ref().unwrap()["url"],
        "${SLACK_WEBHOOK_URL}",
        "mappings are not expanded: their text is data, not configuration"
    );
    assert!(sub.use_defaults);
    let webhook = &config.destinations[1];
    assert_eq!(
        webhook.redirect_outbound.as_ref().map(url::Url::as_str),
        Some("http://127.0.0.1:9000/")
    );
    assert_eq!(webhook.delivery.concurrency, 4);
    assert!(webhook.delivery.ordered);
    assert_eq!(slack.delivery, crate::config::Delivery::default());
    assert_eq!(sub.trigger, r#"type = "track" and event = "Trip Booked""#);
    assert_eq!(sub.trigger_line, 37);
}

#[test]
fn delivery_settings_are_checked() {
    let text = "[[destinations]]\nname = \"d\"\nplugin = \"webhook\"\n\
                [destinations.delivery]\nconcurrency = 0\n";
    let e = parse(text).unwrap_err();
    assert!(
        e.contains("line 1 (destinations[0].delivery)") && e.contains("concurrency must be"),
        "{e}"
    );
    let e = parse(
        "[[destinations]]\nname = \"d\"\nplugin = \"x\"\n[destinations.delivery]\nretries = 3\n",
    )
    .unwrap_err();
    assert!(
        e.contains("line 5") && e.contains("unknown field `retries`"),
        "{e}"
    );
}

#[test]
fn an_empty_file_is_the_defaults_without_sources() {
    let config = parse("").unwrap();
    assert_eq!(config.listen, DEFAULT_LISTEN.parse().unwrap());
    assert_eq!(config.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
    assert!(config.sources.is_empty() && config.destinations.is_empty());
}

#[test]
fn settings_take_environment_variables() {
    let config = parse(
        r#"
[[sources]]
name = "s"
write_key = "k"

[[destinations]]
name = "d"
plugin = "slack"
settings = { token = "Bearer ${WEBSITE_WRITE_KEY}", nested = ["${WEBSITE_WRITE_KEY}"] }
"#,
    )
    .unwrap();
    let d = &config.destinations[0];
    assert_eq!(d.settings["token"], "Bearer web-key");
    assert_eq!(d.settings["nested"][0], "web-key");
    assert_eq!(d.sources, ["s"], "no sources listed means all of them");
    assert!(
        d.subscriptions.is_none(),
        "no subscriptions means the presets"
    );
}

#[test]
fn errors_name_the_file_line_and_key() {
    let unknown = parse("[server]\nlisten = \"127.0.0.1:1\"\nport = 3\n").unwrap_err();
    assert!(
        unknown.starts_with("config file test.toml line 3: unknown field `port`"),
        "{unknown}"
    );
    assert_eq!(
        parse("[[sources]]\nname = \"s\"\nwrite_key = \"${NOPE}\"\n").unwrap_err(),
        "config file test.toml line 3 (sources[0].write_key): the environment variable NOPE is \
         not set"
    );
    assert_eq!(
        parse("[server]\nlisten = \"localhost\"\n").unwrap_err(),
        "config file test.toml line 2 (server.listen): \"localhost\" is not an address with a \
         port, such as 127.0.0.1:8088"
    );
    let wrong_type =
        parse("[[destinations]]\nname = \"d\"\nplugin = \"slack\"\nenabled = \"yes\"\n")
            .unwrap_err();
    assert!(
        wrong_type.starts_with("config file test.toml line 4: invalid type: string \"yes\""),
        "{wrong_type}"
    );
    assert_eq!(
        parse(
            "[[sources]]\nname = \"s\"\nwrite_key = \"k\"\n[[destinations]]\nname = \"d\"\n\
             plugin = \"slack\"\nsources = [\"s\", \"t\"]\n"
        )
        .unwrap_err(),
        "config file test.toml line 7 (destinations[0].sources): there is no source named \"t\""
    );
    assert_eq!(
        parse(
            "[[sources]]\nname = \"a\"\nwrite_key = \"k\"\n[[sources]]\nname = \"b\"\n\
             write_key = \"k\"\n"
        )
        .unwrap_err(),
        "config file test.toml line 6 (sources[1].write_key): the same write key as source \"a\"; \
         each source needs its own"
    );
    let limits = parse(
        "[[destinations]]\nname = \"d\"\nplugin = \"slack\"\n[destinations.limits]\nmemory_gb = 1\n",
    )
    .unwrap_err();
    assert!(
        limits.starts_with("config file test.toml line 5: unknown field `memory_gb`"),
        "{limits}"
    );
    assert_eq!(
        parse(
            "[[destinations]]\nname = \"d\"\nplugin = \"webhook\"\nredirect_outbound = \
             \"ftp://x\"\n"
        )
        .unwrap_err(),
        "config file test.toml line 4 (destinations[0].redirect_outbound): \"ftp://x\" is not \
         an http or https URL"
    );
}

#[test]
fn the_default_write_key_is_made_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let first = default_write_key(dir.path()).unwrap();
    assert_eq!(first.len(), 32);
    assert_eq!(default_write_key(dir.path()).unwrap(), first);
}

#[test]
fn the_console_idle_time_is_read_and_checked() {
    let config = Config::parse("[server]\nconsole_idle_s = 900\n", "t.toml", env).unwrap();
    assert_eq!(config.console_idle, std::time::Duration::from_secs(900));
    let config = Config::parse("", "t.toml", env).unwrap();
    assert_eq!(
        config.console_idle,
        std::time::Duration::from_secs(12 * 3600)
    );
    let e = parse("[server]\nconsole_idle_s = 0\n").unwrap_err();
    assert!(
        e.contains("server.console_idle_s") && e.contains("at least 1"),
        "{e}"
    );
}

#[test]
fn the_event_logs_retention_is_read_and_checked() {
    let defaults = parse("").unwrap();
    assert_eq!(
        defaults.log_retention,
        std::time::Duration::from_secs(7 * 24 * 3600)
    );
    assert_eq!(defaults.log_max_mb, None);
    let config = parse("[server]\nlog_retention_h = 48\nlog_max_mb = 512\n").unwrap();
    assert_eq!(
        config.log_retention,
        std::time::Duration::from_secs(48 * 3600)
    );
    assert_eq!(config.log_max_mb, Some(512));
    for key in ["log_retention_h", "log_max_mb"] {
        let e = parse(&format!("[server]\n{key} = 0\n")).unwrap_err();
        assert!(
            e.contains(&format!("server.{key}")) && e.contains("at least 1"),
            "{e}"
        );
    }
}

#[test]
fn start_times_are_read_and_a_bad_one_is_named() {
    let text = |destination: &str, subscription: &str| {
        format!(
            "[[destinations]]\nname = \"crm\"\nplugin = \"webhook\"\nstart_from = \"{destination}\"\n\
             [[destinations.subscriptions]]\nname = \"Bookings\"\naction = \"send\"\n\
             trigger = 'type = \"track\"'\nstart_from = \"{subscription}\"\n"
        )
    };
    let c = parse(&text("2026-11-28T10:00:00Z", "2026-11-28T11:00:00+01:00")).unwrap();
    let crm = &c.destinations[0];
    assert_eq!(crm.start_from, Some(1_795_860_000_000));
    assert_eq!(
        crm.subscriptions.as_ref().unwrap()[0].start_from,
        Some(1_795_860_000_000)
    );
    let e = parse(&text("last week", "2026-11-28T10:00:00Z")).unwrap_err();
    assert!(
        e.contains("line 4") && e.contains("start_from") && e.contains("\"last week\""),
        "{e}"
    );
    let e = parse(&text("2026-11-28T10:00:00Z", "2026-11-28")).unwrap_err();
    assert!(
        e.contains("subscription \"Bookings\" start_from") && e.contains("RFC 3339"),
        "{e}"
    );
    // The admin API's form names the key too.
    let spec: stored::DestinationSpec = serde_json::from_value(serde_json::json!({
        "name": "crm", "plugin": "webhook",
        "subscriptions": [{"name": "B", "action": "send", "trigger": "type = \"track\"",
            "start_from": "soon"}]
    }))
    .unwrap();
    let e = spec.to_destination(&[]).unwrap_err();
    assert!(
        e.contains("subscriptions[0].start_from") && e.contains("\"soon\""),
        "{e}"
    );
}
