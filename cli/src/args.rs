//! The command line: a contract that scripts and tests rely on.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// circle: private support circles with no server and no accounts.
#[derive(Parser, Debug)]
#[command(name = "circle", version, about, propagate_version = true)]
pub struct Cli {
    /// The node's home directory [default: the platform's data directory, e.g. ~/.local/share/circle]
    #[arg(long, env = "CIRCLE_HOME", global = true)]
    pub home: Option<PathBuf>,
    /// Print data as JSON (one object per line for lists)
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Set up this node: its identity, protected by a passphrase (CIRCLE_PASSPHRASE or a prompt)
    Init {
        /// Your default nickname in circles (first name or nickname; you can use another per circle)
        #[arg(long)]
        name: String,
    },
    /// Run the node in the foreground until Ctrl-C
    Up(UpArgs),
    /// Show whether the node runs, its addresses and circles, and how each member is connected
    Status,
    /// Check what keeps members from reaching this node, and say what to fix
    Doctor,
    /// Start a new circle; prints its id
    Create {
        /// The circle's name
        name: String,
        /// Your nickname in this circle [default: the one from init]
        #[arg(long = "name", value_name = "NICK")]
        nick: Option<String>,
    },
    /// Invite someone to a circle; prints the invite to send them (the node must be running)
    Invite {
        /// Circle id or name
        circle: String,
        /// How long the invite stays valid: 90s, 30m, 24h, 7d
        #[arg(long, default_value = "7d")]
        expires: String,
        /// How many people may join with it
        #[arg(long, default_value_t = 1)]
        uses: u32,
        /// Only the node with this peer id can use it (they find it with `circle status`)
        #[arg(long = "for", value_name = "PEER_ID")]
        bound: Option<String>,
    },
    /// List a circle's invites that can still let someone in, with their ids
    Invites {
        /// Circle id or name
        circle: String,
    },
    /// End an invite before its time, so nobody can join with it
    Revoke {
        /// Circle id or name
        circle: String,
        /// The invite's id, or enough of its start to tell it apart (see `circle invites`)
        invite: String,
    },
    /// Join a circle with an invite; prints the circle id (the node must be running)
    Join {
        /// The invite, as you received it (starts with circle1)
        token: String,
        /// Your nickname in this circle [default: the one from init]
        #[arg(long = "name", value_name = "NICK")]
        nick: Option<String>,
    },
    /// List your circles
    Circles,
    /// List a circle's members
    Members {
        /// Circle id or name
        circle: String,
    },
    /// Remove someone from a circle; the circle gets a new key they do not have
    Remove {
        /// Circle id or name
        circle: String,
        /// Their name in the circle, or their member key (see `circle members`)
        member: String,
    },
    /// Leave a circle; what was said before stays readable here
    Leave {
        /// Circle id or name
        circle: String,
    },
    /// Make someone an admin of a circle, or a plain member again
    Admin {
        #[command(subcommand)]
        change: AdminChange,
    },
    /// Choose who may invite people into a circle
    Policy {
        /// Circle id or name
        circle: String,
        /// `admins` (the default for a new circle) or `members` (anyone in it)
        #[arg(long, value_name = "WHO")]
        invites: String,
    },
    /// Share something with a circle; prints the message id
    Share {
        /// Circle id or name
        circle: String,
        /// What to share; `-` reads it from standard input
        text: String,
    },
    /// Read a circle's messages
    Feed {
        /// Circle id or name
        circle: String,
        /// Keep waiting for new messages (needs the node running)
        #[arg(long)]
        follow: bool,
        /// Show only the newest N messages
        #[arg(long)]
        limit: Option<usize>,
    },
}

/// How `circle up` runs the node.
#[derive(clap::Args, Debug)]
pub struct UpArgs {
    /// Address to listen on (repeatable) [default: all interfaces, TCP and QUIC port 7117]
    #[arg(long = "listen", value_name = "MULTIADDR")]
    pub listen: Vec<String>,
    /// An address where others reach this node from the internet, e.g. a forwarded port:
    /// /ip4/203.0.113.7/tcp/7117 (repeatable). Invites carry it first.
    #[arg(long = "external-address", value_name = "MULTIADDR")]
    pub external: Vec<String>,
    /// Do not look for other members' nodes on the local network
    #[arg(long)]
    pub no_mdns: bool,
    /// Run as your circles' always-on home server: relay for members whose nodes cannot reach
    /// each other directly, and tell members whether they are reachable from outside
    #[arg(long)]
    pub relay: bool,
    /// How often to compare logs with each connected member: 10s, 1m, ...
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub sync_every: String,
}

#[derive(Subcommand, Debug)]
pub enum AdminChange {
    /// Make a member an admin: they can remove people, invite and choose who may invite
    Grant {
        /// Circle id or name
        circle: String,
        /// Their name in the circle, or their member key
        member: String,
    },
    /// Make an admin a plain member again
    Revoke {
        /// Circle id or name
        circle: String,
        /// Their name in the circle, or their member key
        member: String,
    },
}
