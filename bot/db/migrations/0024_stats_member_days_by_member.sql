-- The dashboard's retention by join cohort (issue 19) reads each cohort member's active days: by
-- member, then day (the primary key is by day, then member: reading it so would scan every member's
-- active day of the period). bot/db/stats.py cohort_activity.
CREATE INDEX stats_member_days_by_member ON stats_member_days (guild_id, user_id, day);
