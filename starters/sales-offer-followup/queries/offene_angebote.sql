SELECT o.offer_id, o.title, o.amount_eur, o.sent_on, o.last_customer_reply,
       c.name AS customer, c.contact_name, c.contact_email,
       o.owner_name, o.owner_email,
       CAST(julianday('now') - julianday(COALESCE(o.last_customer_reply, o.sent_on)) AS INTEGER)
         AS days_without_reply
FROM offers o
JOIN customers c ON c.customer_id = o.customer_id
WHERE o.status = 'offen'
  AND o.amount_eur >= :min_amount
  AND julianday('now') - julianday(COALESCE(o.last_customer_reply, o.sent_on)) >= :days
  AND (:offer_id = '' OR o.offer_id = :offer_id)
ORDER BY days_without_reply DESC, o.amount_eur DESC
LIMIT 1
