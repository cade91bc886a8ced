-- aux.campana is rebuilt in full every run (a handful of rows); the transform compares
-- the new rows with the previous ones to find changed campaigns (domain.md §4.1, §6).
DELETE FROM aux.campana
