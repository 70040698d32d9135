//! Where a command runs: its home and output form, and the node or store it works on.

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use circle_node::{Circles, DEFAULT_LOCK_WAIT, Home};

use crate::{client::Client, passphrase};

/// Where a command's work is done.
pub enum Target {
    /// Through the running node's API.
    Node(Client),
    /// On the store directly; the node is not running.
    Store(sled::Db),
}

/// What every command knows: its home, and whether to print JSON.
pub struct Ctx {
    /// The node's home.
    pub home: Home,
    /// Print data as JSON.
    pub json: bool,
}

impl Ctx {
    /// Fails with what to do when the home is not set up.
    pub fn require_init(&self) -> Result<()> {
        if !self.home.is_initialized() {
            bail!(
                "no circle node is set up in {}: run `circle init --name NICK` first",
                self.home.dir().display()
            );
        }
        Ok(())
    }

    /// Opens the store directly (the node is not running).
    pub fn open_local(&self) -> Result<Circles> {
        self.require_init()?;
        let pass = passphrase::get(self.home.dir())?;
        let store = self.home.open(pass.as_bytes(), DEFAULT_LOCK_WAIT, |wait| {
            eprintln!(
                "Another circle command is using the store; waiting up to {} s...",
                wait.as_secs()
            );
        })?;
        self.circles_of(store)
    }

    /// The running node's API, if the node runs.
    pub async fn client(&self) -> Option<Client> {
        Client::connect(&self.home).await
    }

    /// The running node's API, or else the store itself. A node that is starting holds the
    /// store before its API answers, and another command may hold it briefly: wait for
    /// whichever comes free first.
    pub async fn reach(&self) -> Result<Target> {
        self.require_init()?;
        let deadline = tokio::time::Instant::now() + DEFAULT_LOCK_WAIT;
        let mut told = false;
        loop {
            if let Some(client) = self.client().await {
                return Ok(Target::Node(client));
            }
            match self.home.open_db(Duration::ZERO, |_| {}) {
                Ok(db) => return Ok(Target::Store(db)),
                Err(circle_node::Error::StoreBusy(_)) => {}
                Err(e) => return Err(e.into()),
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "the store is still in use by another circle command after {} s: try again when it has finished",
                    DEFAULT_LOCK_WAIT.as_secs()
                );
            }
            if !told {
                eprintln!(
                    "Waiting for the node to start, or for another circle command to finish..."
                );
                told = true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Opens the circles of a store reached directly (asks for the passphrase).
    pub fn load(&self, db: sled::Db) -> Result<Circles> {
        let pass = passphrase::get(self.home.dir())?;
        self.circles_of(self.home.unlock(db, pass.as_bytes())?)
    }

    /// The circles of an open store (telling the person once if a recovery phrase was just
    /// made for an older home); after a restore, catching up with this member's own messages
    /// (see [`Circles::catch_up_after_restore`]).
    pub fn circles_of(&self, store: circle_node::Store) -> Result<Circles> {
        crate::backup::tell_new_phrase(&store);
        let circles = Circles::load(store)?;
        circles.catch_up_after_restore(self.home.dir())?;
        Ok(circles)
    }

    /// The node's API: the running node's, or else the same API served in this process over
    /// the store (asks for the passphrase), whose writes go out when the node next runs.
    pub async fn api(&self) -> Result<Client> {
        match self.reach().await? {
            Target::Node(client) => Ok(client),
            Target::Store(db) => Client::offline(self.load(db)?),
        }
    }

    /// The running node's API, or an error saying to start it and then `what` again: for
    /// what needs other members' nodes now (inviting, joining, following live).
    pub async fn require_running(&self, what: &str) -> Result<Client> {
        self.require_init()?;
        self.client().await.ok_or_else(|| {
            anyhow!("the node is not running: start it with `circle up` in another terminal, then {what} again")
        })
    }
}
