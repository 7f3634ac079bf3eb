"""The status page: an HTML view of the daemon for people (advertisers, alerts, silences, the journal), served by
``run`` beside ``/healthz`` or on a listener of its own (``[page]``). app.py routes, auth.py who is there,
csrf.py the forms' tokens, view.py what the page shows, templates/ the HTML."""
