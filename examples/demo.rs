//! Three people form a private circle on one machine, talk, and one catches up after being away.
//!
//! ```text
//! cargo run --release --example demo
//! cargo run --release --example demo -- --web   # then keeps the nodes running for the web app
//! ```
//!
//! Each person gets a real node: a home directory with a passphrase-protected sled store, and a
//! libp2p node listening on 127.0.0.1. Nothing runs on a server; the nodes only talk to each
//! other. The demo exits 0 when every step worked, and 1 (saying which step failed) otherwise.

use std::{path::Path, time::Duration};

use anyhow::{Context, Result, bail};
use circle::crypto::CircleId;
use circle::node::{Api, Circles, Home, Node, NodeConfig};
use tempfile::TempDir;

/// Generous bound for anything that crosses the network.
const PATIENCE: Duration = Duration::from_secs(30);
const PASSPHRASE: &[u8] = b"demo passphrase, not a real one";

struct Person {
    name: &'static str,
    home: TempDir,
    node: Node,
}

impl Person {
    async fn new(name: &'static str) -> Result<Person> {
        let home = tempfile::tempdir()?;
        let store = Home::new(home.path()).init(PASSPHRASE, name)?;
        let node = Node::start(Circles::load(store)?, NodeConfig::local()).await?;
        Ok(Person { name, home, node })
    }

    /// Stops the node, keeping its home, as when a laptop is closed.
    async fn go_offline(self) -> (&'static str, TempDir) {
        self.node.shutdown().await;
        (self.name, self.home)
    }

    async fn come_back(name: &'static str, home: TempDir) -> Result<Person> {
        let store = Home::new(home.path()).open(PASSPHRASE, Duration::from_secs(10), |_| {})?;
        let node = Node::start(Circles::load(store)?, NodeConfig::local()).await?;
        Ok(Person { name, home, node })
    }

    fn shares(&self, circle: &CircleId) -> Result<Vec<String>> {
        Ok(self
            .node
            .circles()
            .feed(circle, 0, None)?
            .into_iter()
            .filter(|i| i.kind == circle::node::contract::Kind::Share)
            .map(|i| format!("{}: {}", i.author_name, i.text))
            .collect())
    }

    /// Waits until this person's node holds `count` shares.
    async fn wait_for_shares(&self, circle: &CircleId, count: usize) -> Result<()> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.shares(circle)?.len() < count {
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "{} received only {} of {count} shares",
                    self.name,
                    self.shares(circle)?.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }
}

async fn invite(from: &Person, to: &Person, circle: &CircleId) -> Result<()> {
    let invite = from
        .node
        .invite(circle, Duration::from_secs(24 * 3600), 1)
        .await?;
    let token = invite.to_token();
    say(&format!(
        "{} sends {} an invite privately: {}... ({} characters, valid 24 h, one use)",
        from.name,
        to.name,
        &token[..24],
        token.len()
    ));
    let joined = to
        .node
        .join(&token, None)
        .await
        .with_context(|| format!("{} could not join", to.name))?;
    if &joined != circle {
        bail!("{} joined a different circle", to.name);
    }
    say(&format!(
        "{}'s node presented the invite to {}'s node and was let in.",
        to.name, from.name
    ));
    Ok(())
}

fn say(line: &str) {
    println!("  {line}");
}

fn step(title: &str) {
    println!("\n{title}");
}

fn contains_bytes(dir: &Path, needle: &[u8]) -> Result<bool> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if contains_bytes(&path, needle)? {
                return Ok(true);
            }
        } else if std::fs::read(&path)?
            .windows(needle.len())
            .any(|w| w == needle)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn demo() -> Result<()> {
    step("1. Three people set up their own nodes. No server, no account, no phone number.");
    let alice = Person::new("alice").await?;
    let bob = Person::new("bob").await?;
    let carol = Person::new("carol").await?;
    for p in [&alice, &bob, &carol] {
        say(&format!("{} runs node {}", p.name, p.node.peer_id()));
    }

    step("2. Alice starts a circle and invites Bob and Carol.");
    let circle = alice.node.create("Tuesday evening circle", None).await?;
    say(&format!("The circle's id is {circle}."));
    invite(&alice, &bob, &circle).await?;
    invite(&alice, &carol, &circle).await?;
    let members: Vec<String> = carol
        .node
        .circles()
        .members(&circle)?
        .into_iter()
        .map(|m| m.name)
        .collect();
    say(&format!("Carol sees the members: {}.", members.join(", ")));

    step(
        "3. Everyone shares. Each message is sealed with the circle's key and signed by its author.",
    );
    alice
        .node
        .share(&circle, "Day 30 today. Thank you all for Tuesday.")
        .await?;
    bob.node.share(&circle, "Proud of you, Alice.").await?;
    carol
        .node
        .share(&circle, "Rough night, but I called someone instead.")
        .await?;
    for p in [&alice, &bob, &carol] {
        p.wait_for_shares(&circle, 3).await?;
    }
    say("Every member's node holds all three messages. Carol's feed:");
    for line in carol.shares(&circle)? {
        say(&format!("    {line}"));
    }

    step("4. Bob closes his laptop. While he is away, Alice and Carol keep talking.");
    let (name, home) = bob.go_offline().await;
    alice
        .node
        .share(&circle, "Bob, we missed you at the check-in.")
        .await?;
    carol
        .node
        .share(&circle, "Goal this week: two meetings.")
        .await?;
    carol.wait_for_shares(&circle, 5).await?;

    step("5. Bob comes back. His node asks the others what he missed and catches up.");
    let bob = Person::come_back(name, home).await?;
    bob.wait_for_shares(&circle, 5).await?;
    for line in bob.shares(&circle)?.iter().skip(3) {
        say(&format!("    {line}"));
    }

    step("6. What is on Bob's disk? Only sealed data.");
    let (name, bob_home) = bob.go_offline().await;
    for secret in ["Rough night", "Tuesday evening circle", "carol"] {
        if contains_bytes(bob_home.path(), secret.as_bytes())? {
            bail!("'{secret}' was found in plaintext on Bob's disk");
        }
        say(&format!("'{secret}' appears nowhere in Bob's files."));
    }

    step("7. Carol moves on and leaves. The next message is sealed with a new key she never gets.");
    carol.node.leave(&circle).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while alice.node.circles().members(&circle)?.len() != 2 {
        if tokio::time::Instant::now() > deadline {
            bail!("Alice's node did not hear that Carol left");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    alice
        .node
        .share(&circle, "Wishing Carol well. Same time next Tuesday.")
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    if carol
        .shares(&circle)?
        .iter()
        .any(|s| s.contains("Wishing Carol well"))
    {
        bail!("Carol's node read a message sent after she left");
    }
    say("Alice's node rotated the circle's key; Carol keeps what was said before, nothing after.");

    step("Done: a private circle, formed and kept by its members alone.");
    if std::env::args().any(|a| a == "--web") {
        let bob = Person::come_back(name, bob_home).await?;
        bob.wait_for_shares(&circle, 6).await?;
        serve_web(&[&alice, &bob, &carol]).await?;
    }
    alice.node.shutdown().await;
    carol.node.shutdown().await;
    Ok(())
}

/// Keeps the nodes running with their web apps, and prints each person's sign-in link (a new
/// set whenever Enter is pressed) until Ctrl-C.
async fn serve_web(people: &[&Person]) -> Result<()> {
    let mut apis = Vec::new();
    for p in people {
        let api = Api::start(p.node.clone()).await?;
        // So that `circle --home DIR open` works too.
        Home::new(p.home.path()).write_api(&api.info)?;
        apis.push(api);
    }
    step("The three nodes keep running. Open each person's circle in your browser:");
    let links = |apis: &[Api]| {
        for (p, api) in people.iter().zip(apis) {
            say(&format!("{:>6}: {}", p.name, api.sign_in_link()));
        }
        say("Each link works once, within two minutes. Enter: new links. Ctrl-C: stop.");
    };
    links(&apis);
    let mut lines =
        tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(tokio::io::stdin()));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            line = lines.next_line() => match line {
                Ok(Some(_)) => links(&apis),
                // No terminal to read from: wait for Ctrl-C alone.
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                    break;
                }
            },
        }
    }
    for api in apis {
        api.stop().await;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match demo().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nThe demo failed: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
