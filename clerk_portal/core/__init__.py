"""What every capability uses and that knows none of them: settings (the environment), database
engines and sessions (`db.session_scope`, `db.in_db` off the event loop), the errors a person can
read (`errors`), input rules (`text_input`), rate limits and the portal's URL paths (`routes`)."""
