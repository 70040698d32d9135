//! The command line: a contract that scripts and tests rely on.

use std::path::PathBuf;

use clap::{ArgGroup, Parser, Subcommand, ValueEnum};

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

/// `circle recovery ...`.
#[derive(Subcommand, Debug)]
pub enum RecoveryAction {
    /// Show the recovery phrase again, after the passphrase (the phrase alone on stdout)
    Show,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Set up this node: its identity, protected by a passphrase (CIRCLE_PASSPHRASE or a prompt)
    #[command(
        after_help = "Examples:\n  circle init --name Sam\n  CIRCLE_PASSPHRASE_FILE=~/.config/circle-pass circle init --name Sam"
    )]
    Init {
        /// Your default nickname in circles (first name or nickname; you can use another per circle)
        #[arg(long)]
        name: String,
    },
    /// Run the node in the foreground until Ctrl-C
    #[command(
        after_help = "Examples:\n  circle up                 keep it running in its own terminal\n  circle up --relay --external-address /ip4/203.0.113.7/tcp/7117\n                            an always-on home server for your circles"
    )]
    Up(UpArgs),
    /// Show whether the node runs, its addresses and circles, and how each member is connected
    #[command(
        after_help = "Examples:\n  circle status\n  circle status | grep connected\n  circle --json status"
    )]
    Status,
    /// Check what keeps members from reaching this node, and say what to fix
    Doctor,
    /// Your recovery phrase: the 24 words that open your backups on a new machine
    Recovery {
        #[command(subcommand)]
        action: RecoveryAction,
    },
    /// Write a backup of everything (identity, keys, circles, messages, settings) to one file,
    /// sealed under your recovery phrase; or check that a file restores
    #[command(
        after_help = "Examples:\n  circle backup ~/circle-backup.cbk\n  circle backup --check ~/circle-backup.cbk\n  circle backup ~/circle-backup.cbk --to-circle \"Tuesday evening\"\n  CIRCLE_RECOVERY_PHRASE=\"...\" circle backup --check ~/circle-backup.cbk"
    )]
    Backup {
        /// The backup file
        #[arg(required_unless_present = "to_circle")]
        file: Option<PathBuf>,
        /// Check that FILE restores (asks for the recovery phrase), without restoring it
        #[arg(long, conflicts_with = "to_circle")]
        check: bool,
        /// Leave the backup (FILE once written, else the latest) with this circle's home
        /// servers that are connected: they keep it sealed, for `circle restore --from-circle`
        #[arg(long, value_name = "CIRCLE")]
        to_circle: Option<String>,
        /// Read the recovery phrase from this file (else CIRCLE_RECOVERY_PHRASE, or a prompt)
        #[arg(long, value_name = "FILE", requires = "check")]
        phrase_file: Option<PathBuf>,
    },
    /// Bring a node back from a backup file, on this or a new machine (asks for the recovery
    /// phrase, then a new passphrase)
    #[command(
        after_help = "Examples:\n  circle --home ~/circle restore ~/circle-backup.cbk\n  circle restore --phrase-file /media/usb/phrase.txt circle-backup.cbk\n  circle --home ~/circle restore --from-circle /ip4/203.0.113.7/tcp/7117/p2p/12D3KooW..."
    )]
    Restore {
        /// The backup file
        #[arg(required_unless_present = "from_circle")]
        file: Option<PathBuf>,
        /// Fetch the backup from a home server of your circle instead, with the recovery
        /// phrase alone: an invite token of that circle, or the home server's address
        /// (/ip4/.../tcp/.../p2p/<its peer id>)
        #[arg(long, value_name = "TOKEN-OR-ADDRESS", conflicts_with = "file")]
        from_circle: Option<String>,
        /// Read the recovery phrase from this file (else CIRCLE_RECOVERY_PHRASE, or a prompt)
        #[arg(long, value_name = "FILE")]
        phrase_file: Option<PathBuf>,
    },
    /// What this node keeps as its circles' home server (`circle up --relay`)
    Relay {
        #[command(subcommand)]
        action: RelayAction,
    },
    /// Start the node whenever you log in (locked until you open circle), with a "circle"
    /// entry in your applications menu; or undo that
    Service {
        #[command(subcommand)]
        action: ServiceAction,
    },
    /// Open circle in your browser, signed in (starts the node first if it is not running)
    Open {
        /// Print the one-time sign-in link instead of opening a browser
        #[arg(long)]
        print: bool,
        /// Sign out every browser signed in to this node
        #[arg(long, conflicts_with = "print")]
        sign_out_all: bool,
    },
    /// Start a new circle; prints its id
    #[command(
        after_help = "Examples:\n  circle create \"Tuesday circle\"\n  circle create \"Tuesday circle\" --format 12-step --guidelines guidelines.txt"
    )]
    Create {
        /// The circle's name
        name: String,
        /// Your nickname in this circle [default: the one from init]
        #[arg(long = "name", value_name = "NICK")]
        nick: Option<String>,
        /// A text file with the circle's guidelines (anonymity, no crosstalk, ...), shown to
        /// everyone before they join
        #[arg(long, value_name = "FILE")]
        guidelines: Option<PathBuf>,
        /// The format the circle follows: 12-step, smart, dharma, secular or other
        #[arg(long, value_name = "FORMAT")]
        format: Option<String>,
        /// Create it even if one of your circles already has this name
        #[arg(long)]
        force: bool,
    },
    /// Show a circle: its members, admins, format and guidelines
    Info {
        /// Circle id or name
        circle: String,
    },
    /// Invite someone to a circle; prints the invite to send them (the node must be running)
    #[command(
        after_help = "Examples:\n  circle invite \"Tuesday circle\"            one person, within 7 days\n  circle invite \"Tuesday circle\" --uses 5 --expires 24h"
    )]
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
    /// Join a circle with an invite: shows its guidelines and asks first; prints the circle id
    /// (the node must be running)
    #[command(
        after_help = "Examples:\n  circle join circle1...                 the invite, as you were sent it\n  circle join circle1... --name Sam      another nickname in this circle"
    )]
    Join {
        /// The invite, as you received it (starts with circle1)
        token: String,
        /// Your nickname in this circle [default: the one from init]
        #[arg(long = "name", value_name = "NICK")]
        nick: Option<String>,
        /// Join without asking (the circle's guidelines are still shown)
        #[arg(long)]
        yes: bool,
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
        /// Their name in the circle, their fingerprint (`amber-fox-lake`), or their member key
        /// or its first 6+ characters (see `circle members`)
        member: String,
    },
    /// Start a new key for a circle, sent to every member (when someone says they cannot
    /// read new messages, or to be sure)
    Rekey {
        /// Circle id or name
        circle: String,
    },
    /// Leave a circle; what was said before stays readable here (asks first)
    Leave {
        /// Circle id or name
        circle: String,
        /// Leave without asking
        #[arg(long)]
        yes: bool,
    },
    /// Make someone an admin of a circle, or a plain member again
    Admin {
        #[command(subcommand)]
        change: AdminChange,
    },
    /// Show or choose who may invite people into a circle
    Policy {
        /// Circle id or name
        circle: String,
        /// `admins` (the default for a new circle) or `members` (anyone in it); without it,
        /// shows who may invite now
        #[arg(long, value_name = "WHO")]
        invites: Option<String>,
    },
    /// Share something with a circle; prints the message id
    #[command(
        after_help = "Examples:\n  circle share \"Tuesday circle\" \"Made it to day 30.\"\n  circle share \"Tuesday circle\" \"Me too.\" --reply-to 3fa9c1d2\n  circle share \"Tuesday circle\" - < story.txt\n  circle share \"Tuesday circle\" \"Rough night.\" --expires 24h"
    )]
    Share {
        /// Circle id or name
        circle: String,
        /// What to share; `-` reads it from standard input
        text: String,
        /// Answer a message: its id, or its first 6 or more characters (the feed shows them
        /// after #)
        #[arg(long, value_name = "ID")]
        reply_to: Option<String>,
        /// Let it disappear from everyone's feed after this long: 1h, 24h, 7d
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
    },
    /// React to a message with an emoji (or a short word)
    React {
        /// The message's id, or its first 6 or more characters (the feed shows them after #)
        id: String,
        /// 🎉, 🙏, +1, metoo, ...
        emoji: String,
    },
    /// Take back something you shared: every member's node drops its words
    Withdraw {
        /// The message's id, or its first 6 or more characters (the feed shows them after #)
        id: String,
    },
    /// Check in: how today is going, and who sees it (the circle, your partner, or only you)
    #[command(
        after_help = "Examples:\n  circle checkin \"Tuesday circle\" --day 4 --mood 7 --craving 2\n  circle checkin \"Tuesday circle\" --day hard --trigger lonely --note \"Long night.\" --to partner\n  circle checkin \"Tuesday circle\" --day okay --to me"
    )]
    Checkin(CheckinArgs),
    /// Recent check-ins you may see, and who has not checked in for a while
    Checkins {
        /// Circle id or name
        circle: String,
    },
    /// Your recovery clocks: days since a date you choose, and milestones
    Clock {
        #[command(subcommand)]
        action: ClockAction,
    },
    /// Set a goal, or mark one done
    Goal {
        #[command(subcommand)]
        action: GoalAction,
    },
    /// A circle's goals you may see
    Goals {
        /// Circle id or name
        circle: String,
    },
    /// Ask someone to be your accountability partner, answer them, or end a partnership
    Partner {
        /// What to do
        step: PartnerStep,
        /// Circle id or name
        circle: String,
        /// Their name in the circle, their fingerprint, or their member key (or its start)
        member: String,
    },
    /// Your accountability partners in a circle, and requests waiting for an answer
    Partners {
        /// Circle id or name
        circle: String,
    },
    /// Send a private message to your accountability partner
    Dm {
        /// Circle id or name
        circle: String,
        /// Your partner's name in the circle, their fingerprint, or their member key (or its start)
        member: String,
        /// What to say; `-` reads it from standard input
        text: String,
    },
    /// Tell everyone in a circle that you need someone now (shows crisis lines first)
    #[command(
        after_help = "Examples:\n  circle reach-out \"Tuesday circle\"\n  circle reach-out \"Tuesday circle\" \"Can someone call me?\" --callback \"+1 555 0100\"\n  circle crisis-lines          the lines it shows, any time"
    )]
    ReachOut {
        /// Circle id or name
        circle: String,
        /// What you want to say, if anything
        text: Option<String>,
        /// A number they can call you back on
        #[arg(long, value_name = "NUMBER")]
        callback: Option<String>,
        /// Send without asking first
        #[arg(long)]
        yes: bool,
    },
    /// Reach-outs in a circle, and who has seen each
    ReachOuts {
        /// Circle id or name
        circle: String,
    },
    /// Show the crisis lines `reach-out` shows, or set your own
    CrisisLines {
        /// Your country, as two letters (US, GB, IE, DE, ...), for its default lines
        #[arg(long, value_name = "XX")]
        country: Option<String>,
        /// A line of your own, "NAME: CONTACT", e.g. "My sponsor: +44 7700 900123" (repeatable)
        #[arg(long = "add", value_name = "NAME: CONTACT")]
        add: Vec<String>,
        /// Forget your own lines and show the defaults again
        #[arg(long)]
        reset: bool,
    },
    /// Add a meeting to a circle
    Meeting {
        #[command(subcommand)]
        action: MeetingAction,
    },
    /// A circle's meetings, in your local time
    Meetings {
        /// Circle id or name
        circle: String,
        /// Show the times in this time zone, e.g. America/New_York [default: this machine's]
        #[arg(long, value_name = "ZONE")]
        tz: Option<String>,
    },
    /// Pin a coping strategy, a number or a link for a circle
    Resource {
        #[command(subcommand)]
        action: ResourceAction,
    },
    /// A circle's pinned resources
    Resources {
        /// Circle id or name
        circle: String,
    },
    /// Print a completion script for your shell
    #[command(
        after_help = "Examples:\n  circle completions bash > ~/.local/share/bash-completion/completions/circle\n  circle completions zsh > ~/.zfunc/_circle     (with fpath+=~/.zfunc in ~/.zshrc)\n  circle completions fish > ~/.config/fish/completions/circle.fish"
    )]
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
    /// Read a circle's messages
    #[command(
        after_help = "Examples:\n  circle feed \"Tuesday circle\"\n  circle feed \"Tuesday circle\" --limit 20\n  circle feed \"Tuesday circle\" --follow --limit 0     only what arrives from now on\n  circle feed \"Tuesday circle\" | less"
    )]
    Feed {
        /// Circle id or name
        circle: String,
        /// Keep waiting for new messages, meeting reminders and partners' missed check-ins
        /// (needs the node running)
        #[arg(long)]
        follow: bool,
        /// Show only the newest N messages (0: none of the history; with --follow, only what
        /// arrives from now on)
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
    /// As a home server: the largest backup kept for one member (100MiB, 1GiB, 500MB, ...)
    #[arg(long, value_name = "SIZE", requires = "relay")]
    pub backup_limit: Option<String>,
    /// How often to compare logs with each connected member: 10s, 1m, ...
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub sync_every: String,
    /// Write a backup this often (e.g. 24h), sealed under your recovery phrase
    #[arg(long, value_name = "PERIOD")]
    pub backup_every: Option<String>,
    /// Where automatic backups go [default: HOME/backups]
    #[arg(long, value_name = "DIR", requires = "backup_every")]
    pub backup_dir: Option<PathBuf>,
    /// How many automatic backups to keep (the newest)
    #[arg(long, value_name = "N", default_value_t = 7, requires = "backup_every")]
    pub keep: usize,
    /// Also leave each automatic backup with this circle's home servers that are connected
    /// (sealed under your recovery phrase), for `circle restore --from-circle`
    #[arg(long, value_name = "CIRCLE", requires = "backup_every")]
    pub backup_to_circle: Option<String>,
    /// Start locked: serve only the page that unlocks the node (or sets it up), and start
    /// the network once the passphrase is given there (`circle open` starts nodes this way)
    #[arg(long)]
    pub locked: bool,
}

#[derive(Subcommand, Debug)]
pub enum RelayAction {
    /// The backups members left here: whose, in which circle, how big, when; or drop one
    Backups {
        #[command(subcommand)]
        action: Option<BackupsAction>,
    },
}

#[derive(Subcommand, Debug)]
pub enum BackupsAction {
    /// Drop the backup kept for a member
    Drop {
        /// Their name in the circle, their fingerprint, their member key (or its first 6+
        /// characters), or the holder key `circle relay backups` lists
        member: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ServiceAction {
    /// Start the node at login (a systemd user unit on Linux, a launchd agent on macOS) and
    /// add circle to the applications menu
    Install,
    /// Stop starting the node at login, and take circle out of the applications menu
    Remove,
}

#[derive(Subcommand, Debug)]
pub enum AdminChange {
    /// Make a member an admin: they can remove people, invite and choose who may invite
    Grant {
        /// Circle id or name
        circle: String,
        /// Their name in the circle, their fingerprint, or their member key (or its start)
        member: String,
    },
    /// Make an admin a plain member again
    Revoke {
        /// Circle id or name
        circle: String,
        /// Their name in the circle, their fingerprint, or their member key (or its start)
        member: String,
    },
}

/// How today is going, and who sees it.
#[derive(clap::Args, Debug)]
pub struct CheckinArgs {
    /// Circle id or name
    pub circle: String,
    /// How the day is going: 1 (very hard), 2 (hard), 3 (questionable), 4 (okay) or 5 (easy);
    /// the words work too
    #[arg(long, value_name = "1-5")]
    pub day: String,
    /// Mood, 0 (lowest) to 10 (best)
    #[arg(long, value_name = "0-10")]
    pub mood: Option<u8>,
    /// Craving, 0 (none) to 10 (strongest)
    #[arg(long, value_name = "0-10")]
    pub craving: Option<u8>,
    /// What made today harder: hungry, angry, lonely, tired, people, places, stress, ...
    /// (repeatable)
    #[arg(long = "trigger", value_name = "TAG")]
    pub triggers: Vec<String>,
    /// Anything else you want to say
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Who sees it: circle, partner (your accountability partners only) or me (kept on this
    /// node only)
    #[arg(long, value_name = "WHO", default_value = "circle")]
    pub to: String,
}

#[derive(Subcommand, Debug)]
pub enum ClockAction {
    /// Start counting days since a date
    Start {
        /// What the clock counts: sober, no gambling, ...
        name: String,
        /// The first day, YYYY-MM-DD
        #[arg(long, value_name = "YYYY-MM-DD")]
        since: String,
        /// The time zone your days are counted in, e.g. Europe/London [default: this
        /// machine's]
        #[arg(long, value_name = "ZONE")]
        tz: Option<String>,
        /// Tell this circle of your milestones (repeatable)
        #[arg(long = "share", value_name = "CIRCLE")]
        share: Vec<String>,
    },
    /// Start a clock again from today. Private unless you add --share
    Reset {
        /// The clock's name
        name: String,
        /// Something to say with it
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        /// Tell the circles the clock is shared with
        #[arg(long)]
        share: bool,
    },
    /// Tell a circle of a clock's milestones from now on
    Share {
        /// The clock's name
        name: String,
        /// Circle id or name
        circle: String,
        /// Tell the circle your count today too ("4 days"), not only the next milestone
        #[arg(long)]
        now: bool,
    },
    /// Your clocks: days, milestones, and who hears of them
    List,
}

#[derive(Subcommand, Debug)]
pub enum GoalAction {
    /// Set a goal: something small and concrete, like "call my sister"
    Add {
        /// Circle id or name
        circle: String,
        /// The goal
        text: String,
        /// By when, YYYY-MM-DD
        #[arg(long, value_name = "YYYY-MM-DD")]
        by: Option<String>,
        /// Who sees it: circle, partner, or me (kept on this node only)
        #[arg(long, value_name = "WHO", default_value = "circle")]
        to: String,
    },
    /// Mark one of your goals done
    Done {
        /// The goal's id, or its first 6 or more characters (`circle goals` shows them)
        id: String,
    },
}

/// A step in an accountability partnership.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartnerStep {
    /// Ask them to be your partner
    Request,
    /// Say yes to their request
    Accept,
    /// Say no for now to their request
    Decline,
    /// End the partnership (or take back your request)
    End,
}

#[derive(Subcommand, Debug)]
pub enum MeetingAction {
    /// Add a weekly or a one-off meeting
    Add(MeetingArgs),
}

/// A meeting: weekly or once, at a time in its own time zone.
#[derive(clap::Args, Debug)]
#[command(group(ArgGroup::new("when").required(true).args(["weekly", "on"])))]
pub struct MeetingArgs {
    /// Circle id or name
    pub circle: String,
    /// What it is called
    pub title: String,
    /// Every week on this day: monday, tue, ...
    #[arg(long, value_name = "DAY")]
    pub weekly: Option<String>,
    /// Once, on this date (YYYY-MM-DD)
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub on: Option<String>,
    /// When it starts, on a 24-hour clock
    #[arg(long, value_name = "HH:MM")]
    pub at: String,
    /// The time zone it is held in, e.g. Europe/London
    #[arg(long, value_name = "ZONE")]
    pub tz: String,
    /// Where to join online
    #[arg(long, value_name = "URL")]
    pub link: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ResourceAction {
    /// Pin a text (a coping strategy, a number) or a link
    Add(ResourceArgs),
}

/// A pinned resource: a text or a link.
#[derive(clap::Args, Debug)]
#[command(group(ArgGroup::new("content").required(true).args(["text", "url"])))]
pub struct ResourceArgs {
    /// Circle id or name
    pub circle: String,
    /// Its title: "Urge surfing", "HALT", ...
    pub title: String,
    /// What it says
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,
    /// A link
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}
