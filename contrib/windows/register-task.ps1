# Registers contrib\windows\chorus-bot-task.xml (monthly `chorus-bot reset --all`) as the
# current user. Task Scheduler asks for, and keeps, that user's Windows password: without it
# the task could not open the user's Credential Manager when nobody is logged on.
# With profiles, change the task's arguments to: reset --all --all-profiles
Register-ScheduledTask -TaskName 'chorus-bot' -Xml (Get-Content -Raw "$PSScriptRoot\chorus-bot-task.xml") -User "$env:USERDOMAIN\$env:USERNAME" -Password ((Get-Credential "$env:USERDOMAIN\$env:USERNAME").GetNetworkCredential().Password)
