-- Demo ERP of `dirigent up` (SQLite), read by the connection `erp` (FinanceGPT's duplicate check).
CREATE TABLE invoices (
    booking_id      TEXT PRIMARY KEY,
    invoice_number  TEXT NOT NULL,
    supplier_name   TEXT NOT NULL,
    supplier_vat_id TEXT NOT NULL,
    invoice_date    TEXT NOT NULL,
    gross_amount    REAL NOT NULL,
    booked_on       TEXT NOT NULL
);
INSERT INTO invoices VALUES
    ('BU-2025-004502', 'RE-2025-0777', 'Büro Schäfer GmbH', 'DE287654321', date('now', '-21 days'), 1190.00, date('now', '-19 days')),
    ('BU-2025-004517', '2025-298', 'Maschinenbau Krüger KG', 'DE198765432', date('now', '-16 days'), 7437.50, date('now', '-14 days')),
    ('BU-2025-004530', 'SN-9870', 'Spedition Nord GmbH', 'DE301122334', date('now', '-12 days'), 2261.00, date('now', '-10 days')),
    ('BU-2025-004544', 'V-5502', 'Elektro Vogt e.K.', 'DE123456789', date('now', '-9 days'), 535.50, date('now', '-8 days')),
    ('BU-2025-004561', '80017733', 'Stadtwerke Neustadt GmbH', 'DE811223344', date('now', '-5 days'), 3318.72, date('now', '-3 days'));
