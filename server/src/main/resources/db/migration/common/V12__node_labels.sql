-- The labels a node is placed by (its config's cluster.labels, as a JSON object): a create's
-- nodeSelector picks among the nodes that carry every one of its labels.
ALTER TABLE nodes ADD COLUMN labels_json TEXT NOT NULL DEFAULT '{}';
