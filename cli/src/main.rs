//! `circle`: the command-line interface to a circle node.
//!
//! When the node of `--home` runs, commands go through its local API; otherwise they open the
//! store directly, and what they write is sent when the node next runs.

// Output goes through `out`, so a closed pipe never panics (see out.rs). Defined before the
// modules, these shadow std's macros in all of them.
macro_rules! println {
    () => { $crate::out::write(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::write(format_args!("{}\n", format_args!($($arg)*))) };
}
macro_rules! print {
    ($($arg:tt)*) => { $crate::out::write(format_args!($($arg)*)) };
}
macro_rules! eprintln {
    () => { $crate::out::write_err(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::write_err(format_args!("{}\n", format_args!($($arg)*))) };
}
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::out::write_err(format_args!($($arg)*)) };
}

mod args;
mod backup;
mod client;
mod ctx;
mod home_backup;
mod logs;
mod membership;
mod network;
mod open;
mod out;
mod passphrase;
mod service;
mod support;

use std::{process::ExitCode, time::Duration};

use anyhow::{Context, Result, anyhow, bail};
use circle_node::contract::{NodeStatus, Standing};
use circle_node::{Api, Circles, Home, Locked, Node, NodeConfig};
use clap::Parser;

use args::{
    AdminChange, BackupsAction, Cli, ClockAction, Command, GoalAction, MeetingAction, RelayAction,
    ResourceAction, ServiceAction, UpArgs,
};
use ctx::{Ctx, Target};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to stdout in full.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        // `circle admin` alone: the help of what was started, to choose from.
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        // A usage mistake: one line, like every other error.
        Err(e) => {
            // Its first paragraph: a missing argument is named on the lines after the first.
            let rendered = e.render().to_string();
            let first = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ");
            let first = if first.is_empty() {
                "error: invalid arguments".to_string()
            } else {
                first
            };
            match suggestion(&e) {
                Some(similar) => eprintln!("{first} (did you mean '{similar}'?)"),
                None => eprintln!("{first} (see `circle --help`)"),
            }
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// What clap's tip suggests for a typo (`circle shar`, `--limt`): the subcommand or option
/// meant, e.g. `share` or `--limit`.
fn suggestion(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    [ContextKind::SuggestedSubcommand, ContextKind::SuggestedArg]
        .into_iter()
        .find_map(|kind| match e.get(kind)? {
            ContextValue::String(s) => Some(s.clone()),
            // clap lists the likeliest last.
            ContextValue::Strings(all) if !all.is_empty() => {
                let likeliest: Vec<&str> = all.iter().rev().map(String::as_str).collect();
                Some(likeliest.join("' or '"))
            }
            _ => None,
        })
}

/// The error and its causes on one line, without repeating what the outer message says.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !line.contains(&c) {
            line.push_str(": ");
            line.push_str(&c);
        }
    }
    // Errors can carry text from other nodes (an inviter's refusal, names from a token): keep
    // them to one safe, readable line.
    let line = clean(&line).replace(['\n', '\t'], " ");
    match line.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line,
    }
}

/// Longest error line shown.
const MAX_ERROR_CHARS: usize = 400;
/// How long a stopping node waits for its store to be let go of before settling it.
const SETTLE_WAIT: Duration = Duration::from_secs(2);

async fn run(cli: Cli) -> Result<()> {
    let dir = match cli.home {
        Some(dir) => dir,
        None => dirs::data_dir()
            .map(|d| d.join("circle"))
            .ok_or_else(|| anyhow!("cannot find a data directory: pass --home DIR"))?,
    };
    let ctx = Ctx {
        home: Home::new(dir),
        json: cli.json,
    };
    match cli.command {
        Command::Init { name } => init(&ctx, &name),
        Command::Up(args) => up(&ctx, args).await,
        Command::Status => status(&ctx).await,
        Command::Doctor => network::doctor(&ctx).await,
        Command::Recovery {
            action: args::RecoveryAction::Show,
        } => backup::show_phrase(&ctx).await,
        Command::Backup {
            file,
            check: false,
            to_circle,
            ..
        } => {
            if let Some(file) = &file {
                backup::backup(&ctx, file).await?;
            }
            match to_circle {
                Some(circle) => home_backup::to_circle(&ctx, &circle).await,
                None => Ok(()),
            }
        }
        Command::Backup {
            file,
            check: true,
            phrase_file,
            ..
        } => backup::check(&ctx, &file.unwrap_or_default(), phrase_file.as_deref()),
        Command::Restore {
            file: Some(file),
            phrase_file,
            ..
        } => backup::restore(&ctx, &file, phrase_file.as_deref()),
        Command::Restore {
            from_circle,
            phrase_file,
            ..
        } => {
            home_backup::restore_from_circle(
                &ctx,
                from_circle.as_deref().unwrap_or_default(),
                phrase_file.as_deref(),
            )
            .await
        }
        Command::Relay {
            action: RelayAction::Backups { action: None },
        } => home_backup::list(&ctx).await,
        Command::Relay {
            action:
                RelayAction::Backups {
                    action: Some(BackupsAction::Drop { member }),
                },
        } => home_backup::drop_member(&ctx, &member).await,
        Command::Service { action } => match action {
            ServiceAction::Install => service::install(&ctx),
            ServiceAction::Remove => service::remove(&ctx),
        },
        Command::Open {
            print,
            sign_out_all,
        } => open::open(&ctx, print, sign_out_all).await,
        Command::Create {
            name,
            nick,
            guidelines,
            format,
            force,
        } => {
            let (guidelines, format) = (guidelines.as_deref(), format.as_deref());
            support::create(&ctx, &name, nick, guidelines, format, force).await
        }
        Command::Info { circle } => support::info(&ctx, &circle).await,
        Command::Invite {
            circle,
            expires,
            uses,
            bound,
        } => membership::invite(&ctx, &circle, &expires, uses, bound.as_deref()).await,
        Command::Invites { circle } => membership::invites(&ctx, &circle).await,
        Command::Revoke { circle, invite } => membership::revoke(&ctx, &circle, &invite).await,
        Command::Join { token, nick, yes } => support::join(&ctx, &token, nick, yes).await,
        Command::Circles => circles(&ctx).await,
        Command::Members { circle } => members(&ctx, &circle).await,
        Command::Remove { circle, member } => membership::remove(&ctx, &circle, &member).await,
        Command::Leave { circle, yes } => membership::leave(&ctx, &circle, yes).await,
        Command::Rekey { circle } => membership::rekey(&ctx, &circle).await,
        Command::Admin { change } => match change {
            AdminChange::Grant { circle, member } => {
                membership::admin(&ctx, &circle, &member, true).await
            }
            AdminChange::Revoke { circle, member } => {
                membership::admin(&ctx, &circle, &member, false).await
            }
        },
        Command::Policy { circle, invites } => match invites {
            Some(invites) => membership::policy(&ctx, &circle, &invites).await,
            None => membership::show_policy(&ctx, &circle).await,
        },
        Command::Completions { shell } => {
            completions(shell);
            Ok(())
        }
        Command::Share {
            circle,
            text,
            reply_to,
            expires,
        } => {
            support::share(
                &ctx,
                &circle,
                &text,
                reply_to.as_deref(),
                expires.as_deref(),
            )
            .await
        }
        Command::React { id, emoji } => support::react(&ctx, &id, &emoji).await,
        Command::Withdraw { id } => support::withdraw(&ctx, &id).await,
        Command::Checkin(args) => support::checkin(&ctx, args).await,
        Command::Checkins { circle } => support::checkins(&ctx, &circle).await,
        Command::Clock { action } => match action {
            ClockAction::Start {
                name,
                since,
                tz,
                share,
            } => support::clock_start(&ctx, &name, &since, tz.as_deref(), &share).await,
            ClockAction::Reset { name, note, share } => {
                support::clock_reset(&ctx, &name, note.as_deref(), share).await
            }
            ClockAction::Share { name, circle, now } => {
                support::clock_share(&ctx, &name, &circle, now).await
            }
            ClockAction::List => support::clock_list(&ctx).await,
        },
        Command::Goal { action } => match action {
            GoalAction::Add {
                circle,
                text,
                by,
                to,
            } => support::goal_add(&ctx, &circle, &text, by.as_deref(), &to).await,
            GoalAction::Done { id } => support::goal_done(&ctx, &id).await,
        },
        Command::Goals { circle } => support::goals(&ctx, &circle).await,
        Command::Partner {
            step,
            circle,
            member,
        } => support::partner(&ctx, step, &circle, &member).await,
        Command::Partners { circle } => support::partners(&ctx, &circle).await,
        Command::Dm {
            circle,
            member,
            text,
        } => support::dm(&ctx, &circle, &member, &text).await,
        Command::ReachOut {
            circle,
            text,
            callback,
            yes,
        } => support::reach_out(&ctx, &circle, text.as_deref(), callback.as_deref(), yes).await,
        Command::ReachOuts { circle } => support::reach_outs(&ctx, &circle).await,
        Command::CrisisLines {
            country,
            add,
            reset,
        } => support::crisis_lines(&ctx, country.as_deref(), &add, reset).await,
        Command::Meeting {
            action: MeetingAction::Add(args),
        } => support::meeting_add(&ctx, args).await,
        Command::Meetings { circle, tz } => support::meetings(&ctx, &circle, tz.as_deref()).await,
        Command::Resource {
            action: ResourceAction::Add(args),
        } => support::resource_add(&ctx, args).await,
        Command::Resources { circle } => support::resources(&ctx, &circle).await,
        Command::Feed {
            circle,
            follow,
            limit,
        } => support::feed(&ctx, &circle, follow, limit).await,
    }
}

fn init(ctx: &Ctx, name: &str) -> Result<()> {
    if ctx.home.is_initialized() {
        bail!(
            "a circle node is already set up in {}",
            ctx.home.dir().display()
        );
    }
    let pass = passphrase::new(ctx.home.dir())?;
    let store = ctx.home.init(pass.as_bytes(), name)?;
    eprintln!("Your node is set up in {}.", ctx.home.dir().display());
    if let Some(phrase) = store.recovery_phrase()? {
        backup::show_new_phrase(&phrase);
    }
    eprintln!("Start it with `circle up`, then create a circle or join one with an invite.");
    Ok(())
}

/// Prints the completion script for `shell` (through `out`, so a closed pipe is quiet).
fn completions(shell: clap_complete::Shell) {
    let mut script = Vec::new();
    let mut command = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "circle", &mut script);
    print!("{}", String::from_utf8_lossy(&script));
}

/// Parses multiaddrs given on the command line.
fn multiaddrs(texts: &[String]) -> Result<Vec<circle_node::Multiaddr>> {
    texts
        .iter()
        .map(|a| {
            a.parse().with_context(|| {
                format!("'{a}' is not a valid multiaddr (e.g. /ip4/0.0.0.0/tcp/7117)")
            })
        })
        .collect()
}

async fn up(ctx: &Ctx, args: UpArgs) -> Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CIRCLE_LOG")
                .unwrap_or_else(|_| "warn,circle_node=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    if ctx.client().await.is_some() {
        bail!(
            "the node of {} is already running",
            ctx.home.dir().display()
        );
    }
    let sync_every = humantime::parse_duration(&args.sync_every)
        .ok()
        .filter(|d| (Duration::from_secs(1)..=Duration::from_secs(24 * 3600)).contains(d))
        .ok_or_else(|| {
            anyhow!(
                "'{}' is not a sync interval: use 1s to 24h, for example 10s or 5m",
                args.sync_every
            )
        })?;
    let backup_limit = match &args.backup_limit {
        Some(text) => home_backup::parse_size(text)?,
        None => circle_node::DEFAULT_BACKUP_LIMIT,
    };
    let schedule = match &args.backup_every {
        Some(every) => {
            let every = humantime::parse_duration(every).map_err(|_| {
                anyhow!("'{every}' is not a period: use for example 24h, 12h or 30m")
            })?;
            let dir = match &args.backup_dir {
                Some(dir) => std::path::absolute(dir)
                    .with_context(|| format!("cannot find {}", dir.display()))?,
                None => ctx.home.dir().join("backups"),
            };
            let schedule = circle_node::backup::BackupSchedule {
                every,
                dir,
                keep: args.keep,
            };
            schedule.validate()?;
            Some(schedule)
        }
        None => None,
    };
    let mut config = NodeConfig::default()
        .with_backup_limit(backup_limit)
        .with_mdns(!args.no_mdns)
        .with_relay(args.relay)
        .with_sync_interval(sync_every)
        .with_external(multiaddrs(&args.external)?);
    if !args.listen.is_empty() {
        config = config.with_listen(multiaddrs(&args.listen)?);
    }
    let (node, api) = if args.locked {
        let mut locked = Locked::start(ctx.home.clone()).await?;
        ctx.home.write_api(locked.info())?;
        eprintln!(
            "The node is locked: unlock it in your browser (`circle open`). Press Ctrl-C to stop."
        );
        let store = tokio::select! {
            store = locked.unlocked() => store,
            () = wait_for_stop() => {
                locked.stop().await;
                ctx.home.remove_api();
                return Ok(());
            }
        };
        let circles = store.and_then(Circles::load).and_then(|circles| {
            circles.catch_up_after_restore(ctx.home.dir())?;
            Ok(circles)
        });
        let started = match circles {
            Ok(circles) => Node::start(circles, config).await,
            Err(e) => Err(e),
        };
        match started {
            Ok(node) => (node.clone(), locked.open(node)),
            Err(e) => {
                locked.fail(&e).await;
                ctx.home.remove_api();
                return Err(e.into());
            }
        }
    } else {
        let circles = ctx.open_local()?;
        let node = Node::start(circles, config).await?;
        let api = Api::start_in(&ctx.home, node.clone()).await?;
        ctx.home.write_api(&api.info)?;
        (node, api)
    };
    let status = node.status().await?;
    println!("circle node {} is running.", status.peer_id);
    for addr in &status.listen {
        println!("listening on {addr}");
    }
    let reach_outs = tokio::spawn(announce_reach_outs(node.events()));
    let to_circle = match &args.backup_to_circle {
        Some(name) => Some((node.circles().resolve(name)?, name.clone())),
        None => None,
    };
    let backups = schedule.map(|schedule| {
        eprintln!(
            "Backing up every {} into {} (keeping {}).",
            humantime::format_duration(schedule.every),
            schedule.dir.display(),
            schedule.keep
        );
        let written = leave_backups_with(&node, to_circle.clone());
        tokio::spawn(circle_node::backup::run_schedule(
            node.circles().store().clone(),
            schedule,
            written,
        ))
    });
    eprintln!("Press Ctrl-C to stop.");
    wait_for_stop().await;
    reach_outs.abort();
    if let Some(backups) = backups {
        backups.abort();
    }
    eprintln!("Stopping...");
    api.stop().await;
    node.shutdown().await;
    ctx.home.remove_api();
    // With the store let go of, reopen it once so the next start need not read this run's
    // log again (see `Home::settle`). Only speed depends on it: a failure is not an error.
    drop(node);
    let home = ctx.home.clone();
    match tokio::task::spawn_blocking(move || home.settle(SETTLE_WAIT)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!("the store was not settled: {e}"),
        Err(e) => tracing::debug!("the store was not settled: {e}"),
    }
    eprintln!("Stopped. Everything is saved.");
    Ok(())
}

/// Prints a line for every reach-out the node receives, in the terminal of `circle up`: the
/// person's own, so it names the circle (the desktop notification, which others may see on a
/// lock screen, names neither the circle nor the person).
async fn announce_reach_outs(mut events: tokio::sync::broadcast::Receiver<circle_node::Event>) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match events.recv().await {
            Ok(circle_node::Event::ReachOut {
                circle_name,
                sent_at,
                ..
            }) => {
                let name = clean(&circle_name);
                println!(
                    "!! {} someone in '{name}' is reaching out: run `circle reach-outs '{name}'`",
                    support::time_of_day(&sent_at)
                );
            }
            Ok(_) => {}
            // Missed while busy: the feed and `circle reach-outs` still have them.
            Err(RecvError::Lagged(missed)) => {
                println!(
                    "-- {missed} notices were skipped while catching up: `circle reach-outs CIRCLE` \
                     lists any reach-out among them"
                );
            }
            Err(RecvError::Closed) => return,
        }
    }
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn status(ctx: &Ctx) -> Result<()> {
    let waiting = match ctx.home.is_initialized() {
        // A node that `circle open` started in a new home runs, waiting to be set up in the
        // browser.
        false => ctx.client().await,
        true => None,
    };
    let target = match waiting {
        Some(client) => Target::Node(client),
        None => ctx.reach().await?,
    };
    let status = match target {
        Target::Node(client) => client.status().await?,
        Target::Store(db) => {
            // With CIRCLE_PASSPHRASE, what only the open store knows.
            let open =
                std::env::var_os("CIRCLE_PASSPHRASE").and_then(|_| ctx.load(db.clone()).ok());
            let stopped = Stopped {
                running: false,
                peer_id: circle_node::Store::peer_id_of(&db)?,
                listen: Vec::new(),
                connected: 0,
                circles: circle_node::Store::circle_count_of(&db)?,
                logs: open.as_ref().and_then(|c| c.log_health().ok()),
                last_backup: open
                    .as_ref()
                    .and_then(|c| circle_node::backup::last(c.store()).ok().flatten()),
            };
            if ctx.json {
                out::json_line(&stopped);
                return Ok(());
            }
            println!("node:      not running (start it with `circle up`)");
            println!("peer id:   {}", stopped.peer_id.as_deref().unwrap_or("?"));
            println!("circles:   {}", stopped.circles);
            backup::print_last(stopped.last_backup.as_ref());
            logs::print(stopped.logs.as_deref());
            return Ok(());
        }
    };
    if ctx.json {
        out::json_line(&status);
        return Ok(());
    }
    let status = match status {
        NodeStatus::Locked(locked) => {
            if locked.initialized {
                println!("node:      locked (unlock it in your browser: `circle open`)");
            } else {
                println!(
                    "node:      running, waiting to be set up in your browser (`circle open`)"
                );
            }
            return Ok(());
        }
        NodeStatus::Node(status) => status,
    };
    println!(
        "node:      {}",
        if status.running {
            "running"
        } else {
            "not running (start it with `circle up`)"
        }
    );
    println!("peer id:   {}", status.peer_id);
    println!("circles:   {}", status.circles);
    if status.running {
        println!("connected: {} node(s)", status.connected);
        for addr in &status.listen {
            println!("listening: {addr}");
        }
        network::print_paths(&status);
    }
    backup::print_last(status.last_backup.as_ref());
    logs::print(Some(&status.logs));
    Ok(())
}

/// What `circle status --json` prints while the node is not running.
#[derive(serde::Serialize)]
struct Stopped {
    running: bool,
    peer_id: Option<String>,
    listen: Vec<String>,
    connected: usize,
    circles: usize,
    /// With CIRCLE_PASSPHRASE only (`null` otherwise).
    logs: Option<Vec<circle_node::contract::CircleLog>>,
    /// With CIRCLE_PASSPHRASE only (`null` otherwise).
    last_backup: Option<circle_node::backup::BackupInfo>,
}

fn count(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

async fn circles(ctx: &Ctx) -> Result<()> {
    let list = ctx.api().await?.circles().await?;
    if !ctx.json && list.is_empty() {
        eprintln!(
            "You are in no circle yet. Create one with `circle create NAME`, or join one with an invite."
        );
    }
    for c in list {
        if ctx.json {
            out::json_line(&c);
        } else {
            let how_many = count(c.members as u64, "member");
            let standing = match c.standing {
                Standing::Left => "you left".to_string(),
                Standing::Removed => "you were removed".to_string(),
                Standing::Joining => "joining".to_string(),
                Standing::Admin => format!("{how_many}; you are an admin"),
                Standing::Member => how_many,
            };
            println!("{}  {} ({standing})", c.id, clean(&c.name));
        }
    }
    Ok(())
}

async fn members(ctx: &Ctx, circle: &str) -> Result<()> {
    let list = ctx.api().await?.members(circle).await?;
    for m in &list {
        if ctx.json {
            out::json_line(m);
        } else {
            let you = if m.me { " (you)" } else { "" };
            println!(
                "{}{}  {}  {}",
                who(&m.name, &m.fingerprint),
                you,
                m.role.as_str(),
                m.member
            );
        }
    }
    Ok(())
}

/// An id alone on stdout, or `{"id": ...}` with --json.
fn print_id(ctx: &Ctx, id: &str) {
    if ctx.json {
        out::json_line(&circle_node::contract::Created { id: id.to_string() });
    } else {
        println!("{id}");
    }
}

/// A member as people are shown them everywhere: `alex (amber-fox-lake)`, their nickname (made
/// safe for the terminal) and the fingerprint that tells them from a namesake; the nickname
/// alone when the node gave no fingerprint.
pub(crate) fn who(name: &str, fingerprint: &str) -> String {
    let name = clean(name);
    if fingerprint.is_empty() {
        return name;
    }
    format!("{name} ({})", clean(fingerprint))
}

/// Members, each as [`who`] shows them.
pub(crate) fn whos(members: &[circle_node::contract::MemberName]) -> Vec<String> {
    members
        .iter()
        .map(|m| who(&m.name, &m.fingerprint))
        .collect()
}

/// Text from other people, made safe for a terminal: control characters (which could move the
/// cursor, rewrite earlier lines or change the terminal's title) are shown as `?`; line breaks
/// and tabs stay.
pub(crate) fn clean(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// With `--backup-to-circle`, a task that leaves each automatic backup, once written, with
/// the circle's home servers that are connected; what they answer goes to the log and the
/// terminal. Returns where the schedule tells it a backup was written.
fn leave_backups_with(
    node: &Node,
    to_circle: Option<(circle_crypto::CircleId, String)>,
) -> Option<tokio::sync::mpsc::UnboundedSender<circle_node::backup::BackupInfo>> {
    let (circle, name) = to_circle?;
    let (written, mut backups) = tokio::sync::mpsc::unbounded_channel();
    let node = node.clone();
    tokio::spawn(async move {
        while backups.recv().await.is_some() {
            match node.leave_latest_backup(&circle).await {
                Ok((_, left)) => {
                    let kept = left.iter().filter(|h| h.refused.is_none()).count();
                    eprintln!(
                        "Left the new backup with {kept} of {} home servers of '{name}'.",
                        left.len()
                    );
                }
                Err(e) => eprintln!("Could not leave the new backup with '{name}': {e}"),
            }
        }
    });
    Some(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_carrying_text_from_another_node_is_one_safe_line() {
        let from_peer =
            "refused: \u{1b}]0;owned\u{7}line one\nline two".to_string() + &"x".repeat(5000);
        let line = one_line(&anyhow!(from_peer));
        assert!(!line.contains('\u{1b}') && !line.contains('\n') && !line.contains('\u{7}'));
        assert!(line.chars().count() <= MAX_ERROR_CHARS + 3);
        assert!(line.ends_with("..."));
    }
}
