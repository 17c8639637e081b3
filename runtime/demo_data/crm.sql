-- Demo CRM of `dirigent up` (SQLite), read by the connection `crm` (SalesGPT).
-- Dates are relative to the day the demo is set up.
CREATE TABLE customers (
    customer_id   INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    contact_name  TEXT NOT NULL,
    contact_email TEXT NOT NULL,
    city          TEXT NOT NULL
);
CREATE TABLE offers (
    offer_id            TEXT PRIMARY KEY,
    customer_id         INTEGER NOT NULL REFERENCES customers(customer_id),
    title               TEXT NOT NULL,
    amount_eur          REAL NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('offen', 'angenommen', 'abgelehnt')),
    sent_on             TEXT NOT NULL,
    last_customer_reply TEXT,
    owner_name          TEXT NOT NULL,
    owner_email         TEXT NOT NULL
);
INSERT INTO customers VALUES
    (1, 'Hansen Logistik GmbH', 'Frau Dr. Katrin Hansen', 'k.hansen@hansen-logistik.example', 'Bremen'),
    (2, 'Brauerei Maierhofer KG', 'Herr Florian Maierhofer', 'f.maierhofer@brauerei-maierhofer.example', 'Rosenheim'),
    (3, 'Stadtwerke Neustadt GmbH', 'Frau Sabine Roth', 's.roth@stadtwerke-neustadt.example', 'Neustadt'),
    (4, 'Krüger Verpackungstechnik AG', 'Herr Mehmet Yıldız', 'm.yildiz@krueger-verpackung.example', 'Bielefeld'),
    (5, 'Bäckerei Schneider GmbH & Co. KG', 'Frau Anna Schneider', 'a.schneider@baeckerei-schneider.example', 'Kassel');
INSERT INTO offers VALUES
    ('ANG-2025-0142', 1, 'Palettierroboter PR-400 inkl. Sicherheitszaun und Inbetriebnahme', 186400.00, 'offen',
     date('now', '-70 days'), date('now', '-47 days'), 'Jonas Weber', 'j.weber@dirigent-demo.example'),
    ('ANG-2025-0157', 2, 'Modernisierung Abfüllanlage Linie 2', 92750.00, 'offen',
     date('now', '-40 days'), NULL, 'Lena Vogel', 'l.vogel@dirigent-demo.example'),
    ('ANG-2025-0163', 3, 'Wartungsvertrag Pumpstationen, 3 Jahre', 64800.00, 'offen',
     date('now', '-35 days'), date('now', '-10 days'), 'Jonas Weber', 'j.weber@dirigent-demo.example'),
    ('ANG-2025-0171', 4, 'Förderband-Erweiterung Halle 3', 38900.00, 'offen',
     date('now', '-60 days'), NULL, 'Lena Vogel', 'l.vogel@dirigent-demo.example'),
    ('ANG-2025-0178', 4, 'Nachrüstung Sicherheitslichtgitter an fünf Verpackungslinien', 51200.00, 'offen',
     date('now', '-12 days'), NULL, 'Lena Vogel', 'l.vogel@dirigent-demo.example'),
    ('ANG-2025-0120', 5, 'Sanierung Kühlhaus und Steuerung', 124000.00, 'angenommen',
     date('now', '-95 days'), date('now', '-80 days'), 'Jonas Weber', 'j.weber@dirigent-demo.example');
