//! How this node is connected: the paths in `circle status`, and `circle doctor`, which tells a
//! person what to fix.

use anyhow::Result;
use circle_node::contract::{Link, NodeStatus, Standing, Status};
use serde::Serialize;

use crate::{clean, ctx::Ctx};

/// Prints the network part of a running node's status: home server, relays, reachability and
/// each connected member with its path.
pub fn print_paths(status: &Status) {
    if status.home_server {
        println!("home server: yes (relaying for your circles' members)");
    }
    for relay in &status.relays {
        println!(
            "relayed at: {} ({})",
            relay.address,
            if relay.reserved {
                "reserved"
            } else {
                "waiting for the home server"
            }
        );
    }
    let peers = &status.peers;
    if !peers.is_empty() {
        println!("members connected:");
    }
    for peer in peers {
        let via = match peer.path {
            Link::Relayed => "relayed through a home server",
            Link::Direct => "direct",
        };
        let home = if peer.home_server {
            ", home server"
        } else {
            ""
        };
        println!("  {:<24} {via}{home}", names(&peer.members, &peer.peer_id));
    }
}

/// `circle doctor`: checks what makes a node reachable and says what to do about each problem.
pub async fn doctor(ctx: &Ctx) -> Result<()> {
    let Some(client) = ctx.client().await else {
        ctx.require_init()?;
        let report = Report {
            running: false,
            checks: None,
            problems: vec!["the node is not running: start it with `circle up` (members can only reach you while it runs)".into()],
        };
        if ctx.json {
            crate::out::json_line(&report);
        } else {
            println!("!! the node is not running: start it with `circle up`.");
            println!("   Members can only reach you, and you them, while it runs.");
        }
        return Ok(());
    };
    let status = match client.status().await? {
        NodeStatus::Node(status) => status,
        NodeStatus::Locked(_) => {
            if ctx.json {
                crate::out::json_line(&Report {
                    running: false,
                    checks: None,
                    problems: vec![
                        "the node is locked: unlock it in your browser with `circle open`".into(),
                    ],
                });
            } else {
                println!("!! the node is locked: unlock it in your browser with `circle open`.");
            }
            return Ok(());
        }
    };
    let checks = diagnose(&status);
    if ctx.json {
        let problems = checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.text.clone())
            .collect();
        crate::out::json_line(&Report {
            running: true,
            checks: Some(&checks),
            problems,
        });
        return Ok(());
    }
    for check in &checks {
        let mark = match (check.ok, check.note) {
            (true, true) => "--",
            (true, false) => "ok",
            (false, _) => "!!",
        };
        let mut lines = check.text.lines();
        println!("{mark} {}", lines.next().unwrap_or_default());
        for line in lines {
            println!("   {line}");
        }
    }
    let problems = checks.iter().filter(|c| !c.ok).count();
    if problems == 0 {
        println!("\nNothing to fix.");
    } else {
        println!("\n{problems} thing(s) to look at (marked !!).");
    }
    Ok(())
}

/// What `circle doctor --json` prints.
#[derive(Serialize)]
struct Report<'a> {
    running: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    checks: Option<&'a [Check]>,
    problems: Vec<String>,
}

#[derive(Serialize)]
struct Check {
    ok: bool,
    /// Good to know, nothing to fix (shown with `--`, not counted as a problem).
    note: bool,
    text: String,
}

fn check(ok: bool, text: String) -> Check {
    Check {
        ok,
        note: false,
        text,
    }
}

/// Advice on a node that works: shown, never counted as a problem.
fn note(text: String) -> Check {
    Check {
        ok: true,
        note: true,
        text,
    }
}

fn diagnose(status: &Status) -> Vec<Check> {
    let mut checks = Vec::new();
    let listen: Vec<&str> = status.listen.iter().map(String::as_str).collect();
    let only_loopback = !listen.is_empty()
        && listen
            .iter()
            .all(|a| a.starts_with("/ip4/127.") || a.starts_with("/ip6/::1/"));
    checks.push(if listen.is_empty() {
        check(
            false,
            "the node listens on no address: start it with `circle up` (default: port 7117 on every interface)".into(),
        )
    } else if only_loopback {
        check(
            false,
            format!(
                "the node listens only on this machine ({}): other machines cannot connect.\nRun `circle up` without --listen, or with --listen /ip4/0.0.0.0/tcp/7117.",
                listen.join(", ")
            ),
        )
    } else {
        check(true, format!("listening {}", listening_words(&listen)))
    });

    let external: Vec<&str> = status.external.iter().map(String::as_str).collect();
    // Only recent answers: an old one says little about the network this computer is on now.
    let tests: Vec<_> = status
        .reachability
        .iter()
        .filter(|t| t.secs_ago < 600)
        .collect();
    let port = listen
        .iter()
        .find_map(|a| a.split("/tcp/").nth(1)?.split('/').next())
        .unwrap_or("7117");
    let external_outside: Vec<&str> = external
        .iter()
        .copied()
        .filter(|a| !a.starts_with("/ip4/127.") && !a.starts_with("/ip6/::1/"))
        .collect();
    let forward = format!(
        "Forward TCP and UDP port {port} on your router to this machine, or ask a member to run a home server (`circle up --relay`, see \"Home server\" in circle's README)."
    );
    let reachable: Vec<&str> = tests
        .iter()
        .filter(|t| t.reachable)
        .map(|t| t.address.as_str())
        .collect();
    let unreachable: Vec<&str> = tests
        .iter()
        .filter(|t| !t.reachable)
        .map(|t| t.address.as_str())
        .collect();
    let relays = &status.relays;
    let reserved = relays.iter().any(|r| r.reserved);
    checks.push(if !reachable.is_empty() {
        check(
            true,
            format!(
                "reachable from outside: a home server connected back to {}",
                reachable.join(", ")
            ),
        )
    } else if !external_outside.is_empty() && status.home_server {
        check(
            true,
            format!(
                "announced as reachable at {} (make sure TCP and UDP port {port} are forwarded to this machine)",
                external_outside.join(", ")
            ),
        )
    } else if status.home_server {
        check(
            false,
            format!(
                "this home server announces no address others can reach: start it with --external-address /ip4/YOUR.PUBLIC.IP/tcp/{port} (and forward TCP and UDP port {port} to it)"
            ),
        )
    } else if !unreachable.is_empty() {
        check(
            reserved,
            format!(
                "not reachable from outside: a home server could not connect to {}.\n{}",
                unreachable.join(", "),
                if reserved {
                    "Members still reach you through your home server's relay."
                } else {
                    &forward
                }
            ),
        )
    } else if reserved {
        check(
            true,
            "reachability from outside not tested yet; members reach you through your home server's relay".into(),
        )
    } else {
        note(
            "reachability from outside not tested: a home server in one of your circles tests it when it connects".into(),
        )
    });

    if status.home_server {
        checks.push(check(
            true,
            "this node is a home server: it relays for members and keeps their messages while they are away".into(),
        ));
    } else {
        let homes: Vec<String> = status
            .peers
            .iter()
            .filter(|p| p.home_server)
            .map(|p| names(&p.members, &p.peer_id))
            .collect();
        for relay in relays {
            let at = &relay.address;
            checks.push(if relay.reserved {
                check(true, format!("relay reservation at a home server: {at}"))
            } else {
                check(
                    false,
                    format!("a home server has not accepted a relay reservation yet: {at}\nIt is asked again every few seconds. If this lasts, the home server may not have heard that you are a member yet (it learns with the next sync), or may be full; ask whoever runs it."),
                )
            });
        }
        if relays.is_empty() {
            // No home server is advice, not a fault: a circle works without one while members
            // are online together. Being connected to one without a reservation is a fault.
            checks.push(Check {
                ok: homes.is_empty(),
                note: homes.is_empty() && reachable.is_empty(),
                text: if homes.is_empty() {
                    "no home server in your circles yet: members online at the same time reach each other directly.\nFor members behind a router, or rarely online together, one member can run `circle up --relay` on an always-on machine (see \"Home server\" in circle's README).".into()
                } else {
                    format!(
                        "connected to a home server ({}) but no relay reservation yet; it is asked for automatically",
                        homes.join(", ")
                    )
                },
            });
        }
    }

    // A circle this node's member was removed from connects to nobody any more: saying so
    // beats "no other members yet".
    for circle in &status.logs {
        if let Some(by) = circle.removed_by.as_deref() {
            checks.push(check(
                true,
                format!(
                    "you were removed from '{}' by {}: its members no longer connect to this node; what was said before stays readable here",
                    clean(&circle.name),
                    clean(by)
                ),
            ));
        }
    }
    let circles = &status.logs;
    let all_gone = !circles.is_empty()
        && circles
            .iter()
            .all(|c| matches!(c.standing, Standing::Left | Standing::Removed));
    let seen = &status.seen;
    if seen.is_empty() && !all_gone {
        checks.push(check(
            true,
            "no other members yet: invite someone with `circle invite CIRCLE`".into(),
        ));
    }
    let paths: std::collections::HashMap<&str, Link> = status
        .peers
        .iter()
        .map(|p| (p.peer_id.as_str(), p.path))
        .collect();
    for member in seen {
        let who = names(&member.members, &member.peer_id);
        checks.push(if member.connected {
            let path = match paths.get(member.peer_id.as_str()) {
                Some(Link::Relayed) => "relayed",
                Some(Link::Direct) | None => "direct",
            };
            check(true, format!("{who}: connected ({path})"))
        } else {
            match member.secs_ago {
                Some(secs) => check(
                    true,
                    format!("{who}: not connected, last seen {} ago", ago(secs)),
                ),
                None => check(
                    false,
                    format!("{who}: not seen since this node started.\nTheir messages still reach you through any member who was online with them."),
                ),
            }
        });
    }
    checks
}

/// "on port 7117 (TCP and QUIC) at 127.0.0.1, 192.168.1.20" from the node's listen
/// addresses; the addresses themselves if they are of another form.
fn listening_words(listen: &[&str]) -> String {
    let mut hosts: Vec<&str> = Vec::new();
    // Each port with the transports on it.
    let mut ports: Vec<(&str, Vec<&str>)> = Vec::new();
    for addr in listen {
        let parts: Vec<&str> = addr.split('/').collect();
        let (host, port, transport) = match parts.as_slice() {
            ["", "ip4" | "ip6", host, "tcp", port, ..] => (*host, *port, "TCP"),
            ["", "ip4" | "ip6", host, "udp", port, "quic-v1", ..] => (*host, *port, "QUIC"),
            _ => return format!("on {}", listen.join(", ")),
        };
        if !hosts.contains(&host) {
            hosts.push(host);
        }
        match ports.iter_mut().find(|(p, _)| *p == port) {
            Some((_, transports)) if transports.contains(&transport) => {}
            Some((_, transports)) => transports.push(transport),
            None => ports.push((port, vec![transport])),
        }
    }
    let ports: Vec<String> = ports
        .iter()
        .map(|(port, transports)| format!("{port} ({})", transports.join(" and ")))
        .collect();
    format!("on port {} at {}", ports.join(", "), hosts.join(", "))
}

/// A connected node's member names, or its short peer id.
fn names(members: &[String], id: &str) -> String {
    let names: Vec<String> = members.iter().map(|n| clean(n)).collect();
    if names.is_empty() {
        let tail: String = id
            .chars()
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("node {}", clean(&tail))
    } else {
        names.join(", ")
    }
}

fn ago(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        3600..=86_399 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}
