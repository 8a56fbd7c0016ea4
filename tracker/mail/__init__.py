"""Mail: the outbox, the SMTP dispatcher, message building, and in-app notices.

- `outbox`: queue mails and notices (insert-or-ignore on unique keys), the mail log services.
- `dispatcher`: claim due rows, send them by SMTP, back off and give up.
- `message`: header-safe messages, HTML with a plain-text alternative.
- `render`: the mail layout.
- `smtpurl`: TRACKER_SMTP_URL parsing.
- `notices`: the in-app notices of a user (unread count, list, mark read).
"""
