//! Automatic backups (`circle up --backup-every 24h --backup-dir DIR --keep 7`): one every
//! period into a directory, keeping the newest few.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use crate::{
    error::{Error, Result},
    store::Store,
};

/// What automatic backups' files are called: this, the time they were made, then
/// [`FILE_SUFFIX`]. Only such files are ever deleted.
pub const FILE_PREFIX: &str = "circle-backup-";
/// The end of an automatic backup's name.
pub const FILE_SUFFIX: &str = ".cbk";
/// Shortest period accepted (tests use seconds).
pub const MIN_PERIOD: Duration = Duration::from_secs(1);

/// When and where automatic backups are written.
#[derive(Clone, Debug)]
pub struct BackupSchedule {
    /// How often.
    pub every: Duration,
    /// Into which directory (made if missing, mode 0700).
    pub dir: PathBuf,
    /// How many to keep (the newest); at least 1.
    pub keep: usize,
}

impl BackupSchedule {
    /// Checks the schedule once.
    pub fn validate(&self) -> Result<()> {
        if self.every < MIN_PERIOD {
            return Err(Error::Invalid(
                "backups can be at most one a second: use for example 24h or 12h".into(),
            ));
        }
        if self.keep == 0 {
            return Err(Error::Invalid(
                "--keep 0 would delete every backup: keep at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The file the backup made at `now_ms` goes to.
    fn file_at(&self, now_ms: u64) -> PathBuf {
        let stamp: String = crate::time::rfc3339(now_ms)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        self.dir.join(format!("{FILE_PREFIX}{stamp}{FILE_SUFFIX}"))
    }
}

/// Writes backups of `store` on `schedule` until the task is dropped or aborted. The first
/// comes when the last backup is a period old (at once if there was none); a failed one is
/// logged and tried again at the next period. Each one written is also sent to `written`, if
/// given (`circle up --backup-to-circle` leaves it with a home server).
pub async fn run(
    store: Store,
    schedule: BackupSchedule,
    written: Option<tokio::sync::mpsc::UnboundedSender<super::BackupInfo>>,
) {
    let wait = match super::last(&store) {
        Ok(Some(last)) => {
            let due = last
                .created_at_ms
                .saturating_add(schedule.every.as_millis() as u64);
            Duration::from_millis(due.saturating_sub(crate::time::now_ms()))
        }
        _ => Duration::ZERO,
    };
    tokio::time::sleep(wait.min(schedule.every)).await;
    loop {
        let (store2, schedule2) = (store.clone(), schedule.clone());
        let done = tokio::task::spawn_blocking(move || once(&store2, &schedule2)).await;
        match done {
            Ok(Ok(info)) => {
                tracing::info!(path = %info.path, bytes = info.bytes, "backed up");
                if let Some(written) = &written {
                    // Nobody listening any more only means nobody leaves it anywhere.
                    let _ = written.send(info);
                }
            }
            Ok(Err(e)) => tracing::warn!("the automatic backup failed: {e}"),
            Err(_) => return,
        }
        tokio::time::sleep(schedule.every).await;
    }
}

/// One automatic backup, then the oldest beyond `keep` deleted.
fn once(store: &Store, schedule: &BackupSchedule) -> Result<super::BackupInfo> {
    super::create_private_dir(&schedule.dir)?;
    let info = super::write(store, &schedule.file_at(crate::time::now_ms()), |_| {})?;
    prune(&schedule.dir, schedule.keep)?;
    Ok(info)
}

/// Deletes all but the newest `keep` automatic backups in `dir` (their names sort by time).
fn prune(dir: &Path, keep: usize) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?;
    let mut ours: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(FILE_PREFIX) && n.ends_with(FILE_SUFFIX) && p.is_file()
            })
        })
        .collect();
    ours.sort();
    let old = ours.len().saturating_sub(keep);
    for path in &ours[..old] {
        std::fs::remove_file(path)
            .map_err(|e| Error::io(format!("cannot delete {}", path.display()), e))?;
    }
    Ok(())
}
