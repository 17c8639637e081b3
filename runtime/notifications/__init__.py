"""Notifications: people are told when something waits for them or was decided.

    event (same transaction)            recipients (decided by the policy)
    version submitted                   board members who may approve it (never its author
                                        or submitter: four eyes)
    version approved / rejected         its author, and its submitter if someone else
    approval task raised                its assignees who may decide it (never the run's
                                        requester under four eyes on tasks)
    approval task overdue (expired)     those assignees, and the run's requester

Each event writes one row per recipient into `notifications` in the transaction of the
event itself (so a committed event always has its notifications), idempotent per
(event, recipient). Rows hold a code and parameters, never rendered text: the studio
words them in German or English. When an admin has chosen an e-mail connection
(`config`), each new notification of a person with an e-mail address also gets an
outbox row; `outbox.MailOutbox` sends those in the background, claimed by
compare-and-set so that several processes send each mail once.
"""
