"""What every domain shares: the database and extensions, enums and labels, the workflow and
permissions, errors, the clock and calendar, settings, SQL helpers, files, workbooks, background
tasks, the API's base, and the glue of HTML views. Depends on no domain."""
